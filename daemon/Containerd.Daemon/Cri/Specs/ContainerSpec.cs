using System.Globalization;
using System.Text.Json.Nodes;
using Containerd.Shared.Oci;
using Grpc.Core;
using Runtime.V1;

namespace Containerd.Daemon.Cri.Specs;

/// <summary>
/// The OCI runtime spec of a container in a pod, as containerd 1.6's
/// containerSpec and containerSpecOpts build it (pkg/cri/server/container_create_linux.go,
/// pkg/cri/opts/spec_linux.go).
/// </summary>
/// <remarks>
/// What this does not do, and the caller may need to: make missing host paths
/// of mounts (containerd creates them as directories) and resolve their
/// symlinks; check that a BIDIRECTIONAL (HOST_TO_CONTAINER) mount's source is on
/// a shared (or slave) host mount; expand a device directory (the device
/// lookup sees one path). Differences from containerd, on purpose: a privileged
/// container does not get every host device nor an allow-all device rule
/// (containerd's <c>privileged_without_host_devices</c>); with no masked or
/// read-only paths in the security context the defaults apply (containerd
/// 1.6 then masks nothing, relying on the kubelet to send them); the pod's
/// sysctls are set again on the container (they name namespaces it shares with
/// the sandbox); host network / IPC give no namespace entry instead of joining
/// the sandbox's (which is the host's); SELinux, AppArmor, RDT, pass-through
/// annotations, image volumes, recursive read-only mounts and ambient
/// capabilities are not supported (the last three are refused or ignored as noted).
/// </remarks>
public static class ContainerSpec
{
    /// <exception cref="SpecException">The config cannot be run (the message names the field).</exception>
    public static JsonObject Build(ContainerSpecInput input)
    {
        var config = input.Config;
        var what = $"container {input.Id}";
        var security = config.Linux?.SecurityContext;
        var podSecurity = input.SandboxConfig.Linux?.SecurityContext;
        var privileged = security?.Privileged == true;
        if (privileged && podSecurity?.Privileged != true)
            throw new SpecException(StatusCode.InvalidArgument,
                $"{what}: a privileged container is not allowed in sandbox {input.SandboxId}, whose security context is not privileged");
        var hostNetwork = SpecParts.IsNode(podSecurity?.NamespaceOptions?.Network) || SpecParts.IsNode(security?.NamespaceOptions?.Network);
        var hostIpc = SpecParts.IsNode(podSecurity?.NamespaceOptions?.Ipc) || SpecParts.IsNode(security?.NamespaceOptions?.Ipc);

        var capabilities = CapabilitySet(security, privileged, input);
        var process = new JsonObject
        {
            ["terminal"] = config.Tty,
            ["user"] = SpecParts.User(input.User, security?.SupplementalGroups ?? []),
            ["args"] = ProcessSpec.Strings(Args(config, input.Image, what)),
            ["env"] = ProcessSpec.Strings(Env(input)),
            ["cwd"] = config.WorkingDir.Length > 0 ? config.WorkingDir : input.Image.WorkingDir.Length > 0 ? input.Image.WorkingDir : "/",
            ["capabilities"] = SpecParts.Capabilities(capabilities),
            ["noNewPrivileges"] = security?.NoNewPrivs == true,
        };
        if (config.Linux?.Resources is { } resources)
        {
            if (resources.OomScoreAdj is < -1000 or > 1000)
                throw new SpecException(StatusCode.InvalidArgument, $"{what}: oom_score_adj {resources.OomScoreAdj} is outside -1000 … 1000");
            process["oomScoreAdj"] = OomScoreFloor.Apply((int)resources.OomScoreAdj, input.OomScoreAdjFloor);
        }

        var linux = new JsonObject
        {
            ["cgroupsPath"] = CgroupPaths.For(input.SandboxConfig.Linux?.CgroupParent, input.Id),
        };
        var (devices, deviceRules) = Devices(config, input.LookupDevice, what);
        if (devices.Count > 0)
            linux["devices"] = devices;
        linux["resources"] = Resources(config.Linux?.Resources, deviceRules, input.SwapLimitSupported, what);
        linux["namespaces"] = Namespaces(input, security, podSecurity, hostNetwork, hostIpc, privileged, what);
        string? rootfsPropagation = null;
        var mounts = Mounts(input, security, hostIpc, privileged, ref rootfsPropagation, what);
        if (rootfsPropagation is not null)
            linux["rootfsPropagation"] = rootfsPropagation;
        if (!privileged)
        {
            linux["maskedPaths"] = ProcessSpec.Strings(
                security?.MaskedPaths is { Count: > 0 } masked ? masked : RuntimeSpec.DefaultMaskedPaths);
            linux["readonlyPaths"] = ProcessSpec.Strings(
                security?.ReadonlyPaths is { Count: > 0 } readOnly ? readOnly : RuntimeSpec.DefaultReadonlyPaths);
        }
        var sysctl = SpecParts.Sysctls(input.SandboxConfig);
        if (sysctl.Count > 0)
            linux["sysctl"] = sysctl;
#pragma warning disable CS0612 // the deprecated field is still honoured, as containerd does
        var seccompPath = security?.SeccompProfilePath;
#pragma warning restore CS0612
        var seccomp = SeccompProfiles.Resolve(
            security?.Seccomp, seccompPath, privileged, capabilities,
            input.Architecture, input.ReadSeccompProfile, what);
        if (seccomp is not null)
            linux["seccomp"] = seccomp;

        return new JsonObject
        {
            ["ociVersion"] = RuntimeSpec.OciVersion,
            ["process"] = process,
            ["root"] = new JsonObject { ["path"] = SpecParts.RootfsPath, ["readonly"] = security?.ReadonlyRootfs == true },
            ["mounts"] = mounts,
            ["annotations"] = Annotations(input),
            ["linux"] = linux,
        };
    }

    /// <summary>
    /// Kubernetes' command/args over the image's entrypoint/cmd (as Docker's
    /// commit rules): a command replaces the entrypoint and the image's cmd;
    /// args alone replace only the cmd; an entrypoint of one empty word counts as none.
    /// </summary>
    public static IReadOnlyList<string> Args(ContainerConfig config, ImageConfig image, string what)
    {
        IReadOnlyList<string> command = config.Command;
        IReadOnlyList<string> args = config.Args;
        if (command.Count == 0)
        {
            if (args.Count == 0)
                args = image.Cmd;
            if (!(image.Entrypoint.Count == 1 && image.Entrypoint[0].Length == 0))
                command = image.Entrypoint;
        }
        if (command.Count == 0 && args.Count == 0)
            throw new SpecException(StatusCode.InvalidArgument, $"{what}: no command specified: neither the config nor the image gives one");
        return [.. command, .. args];
    }

    /// <summary>
    /// PATH (the default), TERM=xterm with a tty, HOSTNAME (the pod's, else the
    /// node's), then the image's env and the config's envs, each KEY replacing an earlier KEY.
    /// </summary>
    private static List<string> Env(ContainerSpecInput input)
    {
        var env = new List<string> { ProcessSpec.DefaultPath };
        if (input.Config.Tty)
            env.Add("TERM=xterm");
        var hostname = input.SandboxConfig.Hostname.Length > 0 ? input.SandboxConfig.Hostname : input.NodeHostname;
        if (!string.IsNullOrEmpty(hostname))
            SpecParts.MergeEnv(env, ["HOSTNAME=" + hostname]);
        SpecParts.MergeEnv(env, [.. input.Image.Env, .. input.Config.Envs.Select(e => e.Key + "=" + e.Value.ToStringUtf8())]);
        return env;
    }

    /// <summary>
    /// The default set, then <c>ALL</c> in add (every capability) or drop (none),
    /// then each named add, then each named drop, as containerd's
    /// WithCapabilities; privileged: every capability. The same set is bounding,
    /// effective and permitted; ambient is empty.
    /// </summary>
    private static List<string> CapabilitySet(LinuxContainerSecurityContext? security, bool privileged, ContainerSpecInput input)
    {
        if (privileged)
            return [.. input.AllCapabilities];
        var set = new List<string>(input.DefaultCapabilities);
        if (security?.Capabilities is not { } changes)
            return set;
        static bool IsAll(string name) => string.Equals(name.Trim(), "ALL", StringComparison.OrdinalIgnoreCase);
        if (changes.AddCapabilities.Any(IsAll))
            set = [.. input.AllCapabilities];
        if (changes.DropCapabilities.Any(IsAll))
            set = [];
        foreach (var name in changes.AddCapabilities.Where(n => !IsAll(n)).Select(Capabilities.Normalize))
        {
            if (!set.Contains(name))
                set.Add(name);
        }
        foreach (var name in changes.DropCapabilities.Where(n => !IsAll(n)).Select(Capabilities.Normalize))
            set.Remove(name);
        return set;
    }

    private static (JsonArray Devices, List<JsonObject> Rules) Devices(ContainerConfig config, Func<string, DeviceInfo> lookup, string what)
    {
        var devices = new JsonArray();
        var rules = new List<JsonObject>();
        foreach (var device in config.Devices)
        {
            if (device.HostPath.Length == 0)
                throw new SpecException(StatusCode.InvalidArgument, $"{what}: a device has no host_path");
            var permissions = device.Permissions.Length > 0 ? device.Permissions : "rwm";
            if (permissions.Any(c => c is not ('r' or 'w' or 'm')))
                throw new SpecException(StatusCode.InvalidArgument,
                    $"{what}: device {device.HostPath}: permissions \"{device.Permissions}\" must be made of r, w and m");
            DeviceInfo info;
            try
            {
                info = lookup(device.HostPath);
            }
            catch (SpecException)
            {
                throw;
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                throw new SpecException(StatusCode.NotFound, $"{what}: device {device.HostPath} does not exist", e);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException)
            {
                throw new SpecException(StatusCode.InvalidArgument, $"{what}: device {device.HostPath}: {e.Message}", e);
            }
            if (info.Type is not ('c' or 'b'))
                throw new SpecException(StatusCode.InvalidArgument, $"{what}: {device.HostPath} is not a character or block device");
            var type = info.Type.ToString();
            devices.Add((JsonNode)new JsonObject
            {
                ["path"] = device.ContainerPath.Length > 0 ? device.ContainerPath : device.HostPath,
                ["type"] = type,
                ["major"] = info.Major,
                ["minor"] = info.Minor,
                ["fileMode"] = info.FileMode,
                ["uid"] = info.Uid,
                ["gid"] = info.Gid,
            });
            rules.Add(new JsonObject
            {
                ["allow"] = true, ["type"] = type, ["major"] = info.Major, ["minor"] = info.Minor, ["access"] = permissions,
            });
        }
        return (devices, rules);
    }

    /// <summary>
    /// linux.resources as containerd's WithResources: only what is set (non-zero);
    /// a memory limit without a swap limit also caps swap at the limit (no
    /// swapping by default) where the host can limit swap.
    /// </summary>
    private static JsonObject Resources(LinuxContainerResources? resources, List<JsonObject> deviceRules, bool swapLimitSupported, string what)
    {
        var result = new JsonObject { ["devices"] = new JsonArray([SpecParts.DenyAllDevices(), .. deviceRules]) };
        if (resources is null)
            return result;
        var cpu = new JsonObject();
        if (resources.CpuShares < 0 || resources.CpuPeriod < 0)
            throw new SpecException(StatusCode.InvalidArgument, $"{what}: cpu_shares and cpu_period must not be negative");
        if (resources.CpuShares != 0)
            cpu["shares"] = resources.CpuShares;
        if (resources.CpuQuota != 0)
            cpu["quota"] = resources.CpuQuota;
        if (resources.CpuPeriod != 0)
            cpu["period"] = resources.CpuPeriod;
        if (resources.CpusetCpus.Length > 0)
            cpu["cpus"] = resources.CpusetCpus;
        if (resources.CpusetMems.Length > 0)
            cpu["mems"] = resources.CpusetMems;
        if (cpu.Count > 0)
            result["cpu"] = cpu;

        var memory = new JsonObject();
        if (resources.MemoryLimitInBytes != 0)
        {
            memory["limit"] = resources.MemoryLimitInBytes;
            if (resources.MemorySwapLimitInBytes == 0 && swapLimitSupported)
                memory["swap"] = resources.MemoryLimitInBytes;
        }
        if (resources.MemorySwapLimitInBytes != 0 && swapLimitSupported)
            memory["swap"] = resources.MemorySwapLimitInBytes;
        if (memory.Count > 0)
            result["memory"] = memory;

        if (resources.HugepageLimits.Count > 0)
        {
            result["hugepageLimits"] = new JsonArray([.. resources.HugepageLimits.Select(h =>
                (JsonNode?)new JsonObject { ["pageSize"] = h.PageSize, ["limit"] = h.Limit })]);
        }
        if (resources.Unified.Count > 0)
        {
            var unified = new JsonObject();
            foreach (var (key, value) in resources.Unified.OrderBy(p => p.Key, StringComparer.Ordinal))
                unified[key] = value;
            result["unified"] = unified;
        }
        return result;
    }

    /// <summary>
    /// Joins the sandbox's network, IPC and UTS namespaces (none with host
    /// network / IPC: the sandbox has the host's); PID: POD the sandbox's (none
    /// when the pod uses the host's), CONTAINER a new one, NODE none, TARGET the
    /// target container's; a mount namespace of its own; a cgroup namespace on
    /// cgroup v2 unless privileged.
    /// </summary>
    private static JsonArray Namespaces(
        ContainerSpecInput input, LinuxContainerSecurityContext? security, LinuxSandboxSecurityContext? podSecurity,
        bool hostNetwork, bool hostIpc, bool privileged, string what)
    {
        var namespaces = new JsonArray();
        var options = security?.NamespaceOptions;
        switch (options?.Pid ?? NamespaceMode.Pod)
        {
            case NamespaceMode.Pod:
                if (!SpecParts.IsNode(podSecurity?.NamespaceOptions?.Pid))
                    namespaces.Add((JsonNode)SpecParts.Namespace("pid", ProcNs(input.SandboxPid, "pid")));
                break;
            case NamespaceMode.Container:
                namespaces.Add((JsonNode)SpecParts.Namespace("pid"));
                break;
            case NamespaceMode.Node:
                break;
            case NamespaceMode.Target:
                if (options!.TargetId.Length == 0)
                    throw new SpecException(StatusCode.InvalidArgument, $"{what}: pid namespace mode TARGET needs a target_id");
                if (input.TargetPid is null)
                    throw new SpecException(StatusCode.InvalidArgument, $"{what}: pid namespace mode TARGET is not supported here");
                namespaces.Add((JsonNode)SpecParts.Namespace("pid", ProcNs(input.TargetPid(options.TargetId), "pid")));
                break;
            default:
                throw new SpecException(StatusCode.InvalidArgument, $"{what}: unknown pid namespace mode {(int)options!.Pid}");
        }
        if (!hostIpc)
            namespaces.Add((JsonNode)SpecParts.Namespace("ipc", ProcNs(input.SandboxPid, "ipc")));
        if (!hostNetwork)
            namespaces.Add((JsonNode)SpecParts.Namespace("uts", ProcNs(input.SandboxPid, "uts")));
        namespaces.Add((JsonNode)SpecParts.Namespace("mount"));
        if (!hostNetwork)
            namespaces.Add((JsonNode)SpecParts.Namespace("network", ProcNs(input.SandboxPid, "net")));
        if (input.CgroupNamespace && !privileged)
            namespaces.Add((JsonNode)SpecParts.Namespace("cgroup"));
        return namespaces;
    }

    private static string ProcNs(uint pid, string type) => $"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/ns/{type}";

    /// <summary>
    /// containerd's WithMounts: the CRI mounts, then the sandbox's files for
    /// paths the CRI mounts leave free (/etc/hostname, /etc/hosts,
    /// /etc/resolv.conf read-only with a read-only rootfs; /dev/shm, the host's
    /// with host IPC), sorted stably by depth after the defaults (proc, /dev,
    /// devpts, shm, mqueue, sysfs, cgroup), a default dropped when a mount takes
    /// its path (all of /dev's when /dev is mounted). Privileged: sysfs and cgroup read-write.
    /// </summary>
    private static JsonArray Mounts(
        ContainerSpecInput input, LinuxContainerSecurityContext? security, bool hostIpc, bool privileged,
        ref string? rootfsPropagation, string what)
    {
        var readOnlyRoot = security?.ReadonlyRootfs == true;
        var requested = new List<Mount>();
        foreach (var mount in input.Config.Mounts)
        {
            if (mount.Image is not null)
                throw new SpecException(StatusCode.InvalidArgument, $"{what}: mount {mount.ContainerPath}: image volumes are not supported");
            if (mount.RecursiveReadOnly)
                throw new SpecException(StatusCode.InvalidArgument, $"{what}: mount {mount.ContainerPath}: recursive read-only mounts are not supported");
            if (mount.ContainerPath.Length == 0 || mount.ContainerPath[0] != '/')
                throw new SpecException(StatusCode.InvalidArgument, $"{what}: mount container_path \"{mount.ContainerPath}\" is not absolute");
            if (mount.HostPath.Length == 0)
                throw new SpecException(StatusCode.InvalidArgument, $"{what}: mount {mount.ContainerPath} has no host_path");
            requested.Add(mount);
        }
        var taken = requested.Select(m => Clean(m.ContainerPath)).ToHashSet(StringComparer.Ordinal);
        void AddFile(string destination, string? source, bool readOnly)
        {
            if (source is not null && !taken.Contains(destination))
                requested.Add(new Mount { ContainerPath = destination, HostPath = source, Readonly = readOnly });
        }
        AddFile(SpecParts.EtcHostname, input.SandboxFiles.Hostname, readOnlyRoot);
        AddFile(SpecParts.EtcHosts, input.SandboxFiles.Hosts, readOnlyRoot);
        AddFile(SpecParts.ResolvConf, input.SandboxFiles.ResolvConf, readOnlyRoot);
        AddFile(SpecParts.DevShm, hostIpc ? SpecParts.DevShm : input.SandboxFiles.Shm, false);
        taken = requested.Select(m => Clean(m.ContainerPath)).ToHashSet(StringComparer.Ordinal);

        var defaults = SpecParts.DefaultMounts();
        defaults.Add(RuntimeSpec.Mount("/sys/fs/cgroup", "cgroup", "cgroup", "nosuid", "noexec", "nodev", "relatime", "ro"));
        var result = new JsonArray();
        foreach (var mount in defaults)
        {
            var destination = (string)mount["destination"]!;
            if (taken.Contains(destination) || (taken.Contains("/dev") && destination.StartsWith("/dev/", StringComparison.Ordinal)))
                continue;
            if (privileged && (string?)mount["type"] is "sysfs" or "cgroup")
            {
                var options = mount["options"]!.AsArray();
                for (var i = 0; i < options.Count; i++)
                {
                    if ((string?)options[i] == "ro")
                        options[i] = "rw";
                }
            }
            result.Add((JsonNode)mount);
        }

        // Stable: equal depths keep their order (OrderBy is stable).
        foreach (var mount in requested.OrderBy(m => Clean(m.ContainerPath).Count(c => c == '/')))
        {
            string propagation;
            switch (mount.Propagation)
            {
                case MountPropagation.PropagationBidirectional:
                    propagation = "rshared";
                    rootfsPropagation = "rshared";
                    break;
                case MountPropagation.PropagationHostToContainer:
                    propagation = "rslave";
                    if (rootfsPropagation is not ("rshared" or "rslave"))
                        rootfsPropagation = "rslave";
                    break;
                default:
                    // PRIVATE, and anything unknown (containerd warns): runc's default root propagation is rprivate already.
                    propagation = "rprivate";
                    break;
            }
            result.Add((JsonNode)SpecParts.Bind(mount.ContainerPath, mount.HostPath, "rbind", propagation, mount.Readonly ? "ro" : "rw"));
        }
        return result;
    }

    /// <summary>filepath.Clean for absolute paths: no empty, "." or trailing elements, ".." resolved.</summary>
    internal static string Clean(string path)
    {
        var parts = new List<string>();
        foreach (var part in path.Split('/'))
        {
            if (part.Length == 0 || part == ".")
                continue;
            if (part == "..")
            {
                if (parts.Count > 0)
                    parts.RemoveAt(parts.Count - 1);
                continue;
            }
            parts.Add(part);
        }
        return "/" + string.Join('/', parts);
    }

    private static JsonObject Annotations(ContainerSpecInput input)
    {
        var metadata = input.SandboxConfig.Metadata;
        return new JsonObject
        {
            [CriAnnotations.ContainerType] = CriAnnotations.ContainerTypeContainer,
            [CriAnnotations.SandboxId] = input.SandboxId,
            [CriAnnotations.SandboxNamespace] = metadata?.Namespace ?? "",
            [CriAnnotations.SandboxUid] = metadata?.Uid ?? "",
            [CriAnnotations.SandboxName] = metadata?.Name ?? "",
            [CriAnnotations.ContainerName] = input.Config.Metadata?.Name ?? "",
            [CriAnnotations.ImageName] = input.ImageName,
        };
    }
}
