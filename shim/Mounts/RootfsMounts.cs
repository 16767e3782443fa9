using Containerd.Shared.Native;
using Containerd.Shim.Native;
using Microsoft.Extensions.Logging;
using Mount = Containerd.Api.Types.Mount;

namespace Containerd.Shim.Mounts;

/// <summary>
/// The mounts made for one task's rootfs, in order, so they can be undone in
/// reverse. Everything is mounted onto BUNDLE/rootfs (mount(8) semantics:
/// a later mount stacks on an earlier one), or onto a path below it when a
/// mount names a target.
/// </summary>
internal sealed class RootfsMounts
{
    private readonly List<string> _mounted = [];
    private readonly ILogger _logger;

    public RootfsMounts(ILogger logger) => _logger = logger;

    /// <summary>Mounts all of <paramref name="mounts"/>; on failure undoes what it did and throws.</summary>
    /// <exception cref="MountException">A mount failed; the message names it and the errno text.</exception>
    public void MountAll(IReadOnlyList<Mount> mounts, string rootfs)
    {
        if (mounts.Count == 0)
            return;
        Directory.CreateDirectory(rootfs);
        try
        {
            foreach (var mount in mounts)
                MountOne(mount, rootfs);
        }
        catch
        {
            UnmountAll();
            throw;
        }
    }

    /// <summary>Unmounts (lazily, so a busy mount cannot make delete fail) in reverse order.</summary>
    public void UnmountAll()
    {
        for (var i = _mounted.Count - 1; i >= 0; i--)
        {
            var target = _mounted[i];
            if (Libc.Umount2(target, Libc.MNT_DETACH) != 0)
            {
                var errno = Libc.LastError;
                // EINVAL: not a mount point any more (someone else unmounted it).
                if (errno != Libc.EINVAL && errno != Libc.ENOENT)
                    _logger.LogWarning("cannot unmount {Target}: {Error}", target, Libc.ErrorText(errno));
            }
        }
        _mounted.Clear();
    }

    /// <summary>
    /// The teardown detached everything under the rootfs from the mount table
    /// itself; the record of what this shim mounted no longer names mounts.
    /// </summary>
    public void Forget() => _mounted.Clear();

    private void MountOne(Mount mount, string rootfs)
    {
        var target = ResolveTarget(rootfs, mount.Target);
        var options = MountOptions.Parse(mount.Type, mount.Options);
        var fsType = string.IsNullOrEmpty(mount.Type) ? null : mount.Type;
        var source = string.IsNullOrEmpty(mount.Source) ? "none" : mount.Source;
        var flags = options.Flags & ~MountFlags.Propagation;

        if (Posix.Mount(source, target, fsType, (nuint)(ulong)flags, options.Data) != 0)
            throw new MountException($"mount {Describe(mount)} on {target}: {Libc.ErrorText(Libc.LastError)}");
        if (!flags.HasFlag(MountFlags.Remount))
            _mounted.Add(target);

        if (options.BindRemountFlags is { } remount)
        {
            if (Posix.Mount(null, target, null, (nuint)(ulong)remount, null) != 0)
                throw new MountException($"remount {target} ({remount}): {Libc.ErrorText(Libc.LastError)}");
        }
        if (options.Propagation != MountFlags.None)
        {
            if (Posix.Mount(null, target, null, (nuint)(ulong)options.Propagation, null) != 0)
                throw new MountException($"set propagation of {target}: {Libc.ErrorText(Libc.LastError)}");
        }
        _logger.LogDebug("mounted {Mount} on {Target}", Describe(mount), target);
    }

    private static string ResolveTarget(string rootfs, string target)
    {
        if (string.IsNullOrEmpty(target) || target == "/")
            return rootfs;
        var full = Path.GetFullPath(Path.Combine(rootfs, target.TrimStart('/')));
        if (!full.StartsWith(rootfs + "/", StringComparison.Ordinal))
            throw new MountException($"mount target {target} leaves the rootfs");
        Directory.CreateDirectory(full);
        return full;
    }

    private static string Describe(Mount mount) =>
        $"{mount.Type} {mount.Source} ({string.Join(',', mount.Options)})";
}
