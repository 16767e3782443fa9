namespace Containerd.Daemon.Cri.Specs;

/// <summary>
/// The files a sandbox keeps on the host for its containers (the caller makes
/// them, e.g. under the sandbox's state directory): <c>/etc/hostname</c>,
/// <c>/etc/hosts</c>, <c>/etc/resolv.conf</c> and the <c>/dev/shm</c> tmpfs. A null
/// path is a file the caller does not provide: no mount is made for it.
/// </summary>
/// <remarks>
/// As in containerd 1.6, the sandbox (pause) container itself mounts only
/// <see cref="Shm"/> and <see cref="ResolvConf"/>; the containers mount all four.
/// With host IPC the host's <c>/dev/shm</c> is used and <see cref="Shm"/> is ignored.
/// </remarks>
public sealed record SandboxFiles(string? Hostname, string? Hosts, string? ResolvConf, string? Shm)
{
    public static SandboxFiles None { get; } = new(null, null, null, null);
}
