using Containerd.Shared.Native;
using Containerd.Shim.Native;

namespace Containerd.Shim.Mounts;

/// <summary>
/// The rootfs as the root of every path a mount names, the way runc places
/// mounts: each lookup is openat2 with RESOLVE_IN_ROOT from a descriptor of the
/// rootfs, so symlinks (absolute or a <c>../../..</c> chain) resolve as if the
/// rootfs were <c>/</c> and can never lead out of it. Missing directories are
/// created one component at a time with mkdirat relative to their resolved
/// parent, never through a path string that could be redirected.
/// </summary>
internal sealed class RootfsDirectory : IDisposable
{
    // The kernel's own limit on symlinks in one lookup (MAXSYMLINKS).
    private const int MaxSymlinks = 40;
    // A lookup that keeps failing with EAGAIN (a rename or mount raced it) is retried this often.
    private const int MaxRetries = 64;
    // Bounds the create-and-look-again loop in case something keeps removing what it creates.
    private const int MaxSteps = 1024;

    private const int OpenFlags = Posix.O_PATH | Libc.O_CLOEXEC;
    private const ulong Resolve = Posix.RESOLVE_IN_ROOT | Posix.RESOLVE_NO_MAGICLINKS;

    private readonly PathFd _root;

    private RootfsDirectory(PathFd root, string realPath)
    {
        _root = root;
        RealPath = realPath;
    }

    /// <summary>The rootfs' absolute path, free of symlinks.</summary>
    public string RealPath { get; }

    /// <summary>Opens <paramref name="rootfs"/> as it is now: the topmost of the mounts stacked on it.</summary>
    /// <exception cref="MountException">It cannot be opened.</exception>
    public static RootfsDirectory Open(string rootfs)
    {
        var fd = Libc.Open(rootfs, OpenFlags | Posix.O_DIRECTORY, 0);
        if (fd < 0)
            throw new MountException($"cannot open the rootfs {rootfs}: {Libc.ErrorText(Libc.LastError)}");
        var root = new PathFd(fd);
        try
        {
            return new RootfsDirectory(root, root.RealPath());
        }
        catch
        {
            root.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Resolves <paramref name="components"/> inside the rootfs, creating what is
    /// missing as directories. A dangling symlink on the way is not an error:
    /// its target, read as a path inside the rootfs, is created (as mkdir -p
    /// would through a symlink on the host).
    /// </summary>
    /// <param name="components">The target's clean components (<see cref="MountTargetPath.Components"/>).</param>
    /// <param name="target">The target as the request named it, for messages.</param>
    /// <exception cref="MountException">It cannot be resolved or created.</exception>
    public PathFd Place(IReadOnlyList<string> components, string target)
    {
        var path = components.ToList();
        var resolved = 0;
        var links = 0;
        var current = OpenOrThrow(".", target);
        try
        {
            for (var step = 0; resolved < path.Count; step++)
            {
                if (step > MaxSteps)
                    throw new MountException($"mount target {target}: creating it inside the rootfs never settled");
                var prefix = MountTargetPath.Join(path.Take(resolved + 1));
                var fd = TryOpen(prefix, out var errno);
                if (fd >= 0)
                {
                    current.Dispose();
                    current = new PathFd(fd);
                    resolved++;
                    continue;
                }
                var name = path[resolved];
                if (errno != Libc.ENOENT || name == "..")
                    throw new MountException($"mount target {target}: cannot resolve {prefix} inside the rootfs: {Libc.ErrorText(errno)}");

                // Missing: either nothing is there (create it) or a symlink whose target is missing
                // (create that instead, inside the rootfs: splice the link's text into the path).
                if (Posix.ReadLink(current.Fd, name) is { } link)
                {
                    if (++links > MaxSymlinks)
                        throw new MountException($"mount target {target}: {Libc.ErrorText(Posix.ELOOP)}");
                    (path, resolved) = MountTargetPath.Splice(path, resolved, link);
                    current.Dispose();
                    current = OpenOrThrow(MountTargetPath.Join(path.Take(resolved)), target);
                    continue;
                }
                // EEXIST: it appeared meanwhile; the next round opens whatever it is.
                if (Posix.MkdirAt(current.Fd, name, 0b111_101_101) != 0 && Libc.LastError != Libc.EEXIST)
                    throw new MountException($"mount target {target}: cannot create {prefix} inside the rootfs: {Libc.ErrorText(Libc.LastError)}");
            }
            var placed = current;
            current = null;
            return placed;
        }
        finally
        {
            current?.Dispose();
        }
    }

    /// <summary>Opens a path that exists, relative to the rootfs (empty or <c>.</c>: the rootfs).</summary>
    /// <exception cref="MountException">It cannot be resolved.</exception>
    public PathFd OpenExisting(string relative, string target) =>
        OpenOrThrow(relative.Length == 0 ? "." : relative, target);

    /// <summary>
    /// Where <paramref name="placed"/> is, as an absolute path, checked to be at
    /// or below the rootfs. RESOLVE_IN_ROOT guarantees that; a violation would be
    /// a kernel or logic fault, and mounting there would be the hole this closes.
    /// </summary>
    /// <exception cref="MountException">It is not inside the rootfs.</exception>
    public (string Absolute, string Relative) Locate(PathFd placed, string target)
    {
        var absolute = placed.RealPath();
        var relative = MountTargetPath.Within(RealPath, absolute)
            ?? throw new MountException($"mount target {target} resolved to {absolute}, outside the rootfs {RealPath}; not mounting");
        return (absolute, relative);
    }

    public void Dispose() => _root.Dispose();

    private PathFd OpenOrThrow(string relative, string target)
    {
        var fd = TryOpen(relative, out var errno);
        return fd >= 0
            ? new PathFd(fd)
            : throw new MountException($"mount target {target}: cannot resolve {relative} inside the rootfs: {Libc.ErrorText(errno)}");
    }

    private int TryOpen(string relative, out int errno)
    {
        for (var attempt = 0; ; attempt++)
        {
            var fd = Posix.OpenAt2(_root.Fd, relative, OpenFlags, Resolve);
            if (fd >= 0)
            {
                errno = 0;
                return fd;
            }
            errno = Libc.LastError;
            if (errno == Posix.ENOSYS)
                throw new MountException("openat2 is not available (Linux 5.6 or later is needed); mount targets cannot be confined to the rootfs without it");
            if ((errno != Libc.EAGAIN && errno != Libc.EINTR) || attempt >= MaxRetries)
                return -1;
        }
    }
}
