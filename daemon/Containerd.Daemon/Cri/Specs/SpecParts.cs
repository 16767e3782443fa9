using System.Text.Json.Nodes;
using Containerd.Shared.Oci;
using Runtime.V1;

namespace Containerd.Daemon.Cri.Specs;

/// <summary>Pieces the sandbox and the container specs share.</summary>
internal static class SpecParts
{
    public const string RootfsPath = "rootfs";
    public const string DevShm = "/dev/shm";
    public const string EtcHostname = "/etc/hostname";
    public const string EtcHosts = "/etc/hosts";
    public const string ResolvConf = "/etc/resolv.conf";

    /// <summary>
    /// containerd's default mounts without <c>/run</c> (CRI removes it:
    /// WithoutRunMount): proc, a /dev tmpfs, devpts, a /dev/shm tmpfs, mqueue, sysfs read-only.
    /// </summary>
    public static List<JsonObject> DefaultMounts() =>
    [
        RuntimeSpec.Mount("/proc", "proc", "proc", "nosuid", "noexec", "nodev"),
        RuntimeSpec.Mount("/dev", "tmpfs", "tmpfs", "nosuid", "strictatime", "mode=755", "size=65536k"),
        RuntimeSpec.Mount("/dev/pts", "devpts", "devpts", "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"),
        RuntimeSpec.Mount(DevShm, "tmpfs", "shm", "nosuid", "noexec", "nodev", "mode=1777", "size=65536k"),
        RuntimeSpec.Mount("/dev/mqueue", "mqueue", "mqueue", "nosuid", "noexec", "nodev"),
        RuntimeSpec.Mount("/sys", "sysfs", "sysfs", "nosuid", "noexec", "nodev", "ro"),
    ];

    public static JsonObject Bind(string destination, string source, params string[] options) =>
        RuntimeSpec.Mount(destination, "bind", source, options);

    /// <summary>
    /// <paramref name="overrides"/> over <paramref name="env"/>: KEY=VALUE
    /// replaces KEY where it is (or is appended), a bare KEY unsets it (as containerd's WithEnv).
    /// </summary>
    public static void MergeEnv(List<string> env, IEnumerable<string> overrides)
    {
        foreach (var value in overrides)
        {
            var equals = value.IndexOf('=', StringComparison.Ordinal);
            var key = equals < 0 ? value : value[..equals];
            var index = env.FindIndex(e => e.Length > key.Length && e[key.Length] == '=' && e.StartsWith(key, StringComparison.Ordinal));
            if (equals < 0)
            {
                if (index >= 0)
                    env.RemoveAt(index);
            }
            else if (index >= 0)
            {
                env[index] = value;
            }
            else
            {
                env.Add(value);
            }
        }
    }

    /// <summary>process.user: the primary gid, the user's groups and the supplemental groups, sorted and distinct (as containerd's mergeGids).</summary>
    public static JsonObject User(SpecUser user, IEnumerable<long> supplementalGroups)
    {
        var gids = new SortedSet<uint> { user.Gid };
        gids.UnionWith(user.AdditionalGids);
        foreach (var group in supplementalGroups)
        {
            if (group is < 0 or > uint.MaxValue)
                throw new SpecException(Grpc.Core.StatusCode.InvalidArgument, $"supplemental group {group} is not a valid gid");
            gids.Add((uint)group);
        }
        return new JsonObject
        {
            ["uid"] = user.Uid,
            ["gid"] = user.Gid,
            ["additionalGids"] = new JsonArray([.. gids.Select(g => (JsonNode?)JsonValue.Create(g))]),
        };
    }

    public static JsonObject Capabilities(IReadOnlyCollection<string> capabilities) => new()
    {
        ["bounding"] = ProcessSpec.Strings(capabilities),
        ["effective"] = ProcessSpec.Strings(capabilities),
        ["permitted"] = ProcessSpec.Strings(capabilities),
    };

    public static JsonObject Namespace(string type, string? path = null)
    {
        var ns = new JsonObject { ["type"] = type };
        if (path is not null)
            ns["path"] = path;
        return ns;
    }

    public static JsonObject Sysctls(PodSandboxConfig sandbox)
    {
        var sysctl = new JsonObject();
        if (sandbox.Linux is { } linux)
        {
            foreach (var (key, value) in linux.Sysctls.OrderBy(p => p.Key, StringComparer.Ordinal))
                sysctl[key] = value;
        }
        return sysctl;
    }

    /// <summary>The device cgroup's first rule: deny everything (runc then allows its default set: null, zero, tty, …).</summary>
    public static JsonObject DenyAllDevices() => new() { ["allow"] = false, ["access"] = "rwm" };

    public static bool IsNode(NamespaceMode? mode) => mode == NamespaceMode.Node;
}
