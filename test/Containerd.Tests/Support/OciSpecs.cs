using System.Text.Json.Nodes;
using Containerd.Api.Types;

namespace Containerd.Tests.Support;

/// <summary>OCI runtime and process specs for tests: what `runc spec` gives, with the test's command.</summary>
public static class OciSpecs
{
    public const string TypeUrl = "types.containerd.io/opencontainers/runtime-spec/1/Spec";
    public const string ProcessTypeUrl = "types.containerd.io/opencontainers/runtime-spec/1/Process";

    public static Mount RootfsBind(string dir) => new() { Type = "bind", Source = dir, Options = { "rbind", "rw" } };

    public static string Process(string[] args, string cwd = "/") => ProcessNode(args, cwd).ToJsonString();

    public static string Container(string hostname, string[] args) => new JsonObject
    {
        ["ociVersion"] = "1.0.2",
        ["process"] = ProcessNode(args, "/"),
        ["root"] = new JsonObject { ["path"] = "rootfs", ["readonly"] = false },
        ["hostname"] = hostname,
        ["mounts"] = new JsonArray(
            Mount("/proc", "proc", "proc"),
            Mount("/dev", "tmpfs", "tmpfs", "nosuid", "strictatime", "mode=755", "size=65536k"),
            Mount("/dev/pts", "devpts", "devpts", "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"),
            Mount("/dev/shm", "tmpfs", "shm", "nosuid", "noexec", "nodev", "mode=1777", "size=65536k"),
            Mount("/sys", "sysfs", "sysfs", "nosuid", "noexec", "nodev", "ro")),
        ["linux"] = new JsonObject
        {
            ["namespaces"] = new JsonArray(
                new JsonObject { ["type"] = "pid" },
                new JsonObject { ["type"] = "ipc" },
                new JsonObject { ["type"] = "uts" },
                new JsonObject { ["type"] = "mount" },
                new JsonObject { ["type"] = "network" }),
            ["maskedPaths"] = new JsonArray("/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"),
            ["readonlyPaths"] = new JsonArray("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"),
        },
    }.ToJsonString();

    private static JsonObject ProcessNode(string[] args, string cwd)
    {
        var caps = new[] { "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN", "CAP_SETUID", "CAP_SETGID" };
        return new JsonObject
        {
            ["terminal"] = false,
            ["user"] = new JsonObject { ["uid"] = 0, ["gid"] = 0 },
            ["args"] = new JsonArray(args.Select(a => (JsonNode?)JsonValue.Create(a)).ToArray()),
            ["env"] = new JsonArray("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
            ["cwd"] = cwd,
            ["capabilities"] = new JsonObject
            {
                ["bounding"] = Strings(caps),
                ["effective"] = Strings(caps),
                ["permitted"] = Strings(caps),
            },
            ["noNewPrivileges"] = true,
        };
    }

    private static JsonArray Strings(IEnumerable<string> values) =>
        new(values.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray());

    private static JsonObject Mount(string destination, string type, string source, params string[] options)
    {
        var mount = new JsonObject { ["destination"] = destination, ["type"] = type, ["source"] = source };
        if (options.Length > 0)
            mount["options"] = Strings(options);
        return mount;
    }
}
