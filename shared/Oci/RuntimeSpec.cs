using System.Text.Json.Nodes;

namespace Containerd.Shared.Oci;

/// <summary>
/// The default OCI runtime spec (what <c>ctr run</c> gives): what <c>runc spec</c>
/// writes, with a writable root, the container id as hostname and the
/// default capability set, so that a plain busybox rootfs just works.
/// </summary>
public static class RuntimeSpec
{
    public const string OciVersion = "1.0.2";

    /// <summary>
    /// Paths runc hides (a read-only null mount): containerd's default list, with
    /// /sys/devices/virtual/powercap (energy counters leak what other tenants run).
    /// </summary>
    public static IReadOnlyList<string> DefaultMaskedPaths { get; } =
    [
        "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/sys/devices/virtual/powercap", "/proc/scsi",
    ];

    /// <summary>Paths runc remounts read-only: containerd's default list.</summary>
    public static IReadOnlyList<string> DefaultReadonlyPaths { get; } =
        ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

    public static JsonObject Create(string id, IReadOnlyList<string> args, IEnumerable<string> env, string cwd) => new()
    {
        ["ociVersion"] = OciVersion,
        ["process"] = ProcessSpec.Create(args, env, cwd),
        ["root"] = new JsonObject { ["path"] = "rootfs", ["readonly"] = false },
        ["hostname"] = id,
        ["mounts"] = new JsonArray(
            Mount("/proc", "proc", "proc"),
            Mount("/dev", "tmpfs", "tmpfs", "nosuid", "strictatime", "mode=755", "size=65536k"),
            Mount("/dev/pts", "devpts", "devpts", "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"),
            Mount("/dev/shm", "tmpfs", "shm", "nosuid", "noexec", "nodev", "mode=1777", "size=65536k"),
            Mount("/dev/mqueue", "mqueue", "mqueue", "nosuid", "noexec", "nodev"),
            Mount("/sys", "sysfs", "sysfs", "nosuid", "noexec", "nodev", "ro"),
            Mount("/sys/fs/cgroup", "cgroup", "cgroup", "nosuid", "noexec", "nodev", "relatime", "ro")),
        ["linux"] = new JsonObject
        {
            ["resources"] = new JsonObject
            {
                ["devices"] = new JsonArray(new JsonObject { ["allow"] = false, ["access"] = "rwm" }),
            },
            ["namespaces"] = new JsonArray(
                [.. new[] { "pid", "network", "ipc", "uts", "mount" }.Select(t => (JsonNode?)new JsonObject { ["type"] = t })]),
            ["maskedPaths"] = ProcessSpec.Strings(DefaultMaskedPaths),
            ["readonlyPaths"] = ProcessSpec.Strings(DefaultReadonlyPaths),
        },
    };

    /// <summary>One OCI mount entry; no options key when there are none.</summary>
    public static JsonObject Mount(string destination, string type, string source, params string[] options)
    {
        var mount = new JsonObject { ["destination"] = destination, ["type"] = type, ["source"] = source };
        if (options.Length > 0)
            mount["options"] = ProcessSpec.Strings(options);
        return mount;
    }
}
