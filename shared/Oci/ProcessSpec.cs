using System.Text.Json.Nodes;

namespace Containerd.Shared.Oci;

/// <summary>The OCI process section ctr gives containers and exec'd processes.</summary>
public static class ProcessSpec
{
    public const string DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /// <summary>The capability set the original containerd granted by default (Docker's set).</summary>
    public static IReadOnlyList<string> DefaultCapabilities { get; } =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
        "CAP_AUDIT_WRITE",
    ];

    public static JsonObject Create(IReadOnlyList<string> args, IEnumerable<string> env, string cwd) => new()
    {
        ["terminal"] = false,
        ["user"] = new JsonObject { ["uid"] = 0, ["gid"] = 0 },
        ["args"] = Strings(args),
        ["env"] = Strings([DefaultPath, .. env]),
        ["cwd"] = cwd,
        ["capabilities"] = new JsonObject
        {
            ["bounding"] = Strings(DefaultCapabilities),
            ["effective"] = Strings(DefaultCapabilities),
            ["permitted"] = Strings(DefaultCapabilities),
        },
        ["rlimits"] = new JsonArray(new JsonObject { ["type"] = "RLIMIT_NOFILE", ["hard"] = 1024, ["soft"] = 1024 }),
        ["noNewPrivileges"] = true,
    };

    public static JsonArray Strings(IEnumerable<string> values) =>
        new([.. values.Select(v => (JsonNode?)JsonValue.Create(v))]);
}
