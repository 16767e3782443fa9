using Containerd.Shared.Oci;

namespace Containerd.Daemon.Cri.Specs;

/// <summary>Linux capability names as OCI specs spell them (<c>CAP_…</c>).</summary>
public static class Capabilities
{
    /// <summary>containerd's default set (Docker's), which CRI containers start from.</summary>
    public static IReadOnlyList<string> Default => ProcessSpec.DefaultCapabilities;

    /// <summary>Every capability Linux 6.x defines (0 … 40, CAP_LAST_CAP), in number order.</summary>
    public static IReadOnlyList<string> All { get; } =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
        "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
        "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
        "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    ];

    /// <summary>
    /// A CRI capability name as a spec name: upper case, <c>CAP_</c> prefixed
    /// (the kubelet sends <c>NET_ADMIN</c>; <c>CAP_NET_ADMIN</c> is accepted too).
    /// </summary>
    public static string Normalize(string name)
    {
        var upper = name.Trim().ToUpperInvariant();
        return upper.StartsWith("CAP_", StringComparison.Ordinal) ? upper : "CAP_" + upper;
    }
}
