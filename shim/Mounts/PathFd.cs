using Containerd.Shared.Native;
using Containerd.Shim.Native;

namespace Containerd.Shim.Mounts;

/// <summary>
/// An O_PATH descriptor of a resolved mount target. Mounting onto its magic
/// link (<c>/proc/self/fd/N</c>) mounts onto exactly the directory it names:
/// the kernel jumps to the descriptor's own dentry and resolves no path again,
/// so nothing can swap a symlink in between the resolving and the mounting.
/// </summary>
internal sealed class PathFd(int fd) : IDisposable
{
    private int _fd = fd;

    public int Fd => _fd;

    public string MagicLink => $"/proc/self/fd/{_fd}";

    /// <summary>The absolute path the kernel has for it (in this mount namespace), free of symlinks.</summary>
    /// <exception cref="MountException">The kernel could not say.</exception>
    public string RealPath() =>
        Posix.ReadLink(Posix.AT_FDCWD, MagicLink)
        ?? throw new MountException($"cannot read {MagicLink}: {Libc.ErrorText(Libc.LastError)}");

    public void Dispose() => Posix.CloseQuietly(ref _fd);
}
