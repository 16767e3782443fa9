using Containerd.Shared.Native;
using Containerd.Shim.Native;
using Microsoft.Extensions.Logging;
using Mount = Containerd.Api.Types.Mount;

namespace Containerd.Shim.Mounts;

/// <summary>
/// The mounts made for one task's rootfs, in order, so they can be undone in
/// reverse. Everything is mounted onto BUNDLE/rootfs (mount(8) semantics:
/// a later mount stacks on an earlier one), or onto a path below it when a
/// mount names a target. A target is resolved inside the rootfs, symlinks
/// included, as if the rootfs were <c>/</c> (<see cref="RootfsDirectory"/>),
/// and mounted onto through its descriptor, so no mount can land on the host.
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
            // The recorded path is the kernel's own (no symlinks); NOFOLLOW keeps a
            // symlink put there since from redirecting the unmount.
            if (Libc.Umount2(target, Libc.MNT_DETACH | Posix.UMOUNT_NOFOLLOW) != 0)
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
        // A NUL would cut the path short where the kernel reads it: some other target than the one named.
        if (mount.Target.Contains('\0'))
            throw ShimErrors.InvalidArgument($"mount target {mount.Target.Replace('\0', '?')} contains a NUL byte");
        var components = MountTargetPath.Components(mount.Target)
            ?? throw ShimErrors.InvalidArgument(
                $"mount target {mount.Target} cannot be placed inside the rootfs: its .. climbs above the root");
        var options = MountOptions.Parse(mount.Type, mount.Options);
        var fsType = string.IsNullOrEmpty(mount.Type) ? null : mount.Type;
        var source = string.IsNullOrEmpty(mount.Source) ? "none" : mount.Source;
        var flags = options.Flags & ~MountFlags.Propagation;

        // Opened afresh for each mount: the rootfs may itself be the target of an earlier one.
        string target, relative;
        using (var root = RootfsDirectory.Open(rootfs))
        using (var placed = root.Place(components, mount.Target))
        {
            (target, relative) = root.Locate(placed, mount.Target);
            if (Posix.Mount(source, placed.MagicLink, fsType, (nuint)(ulong)flags, options.Data) != 0)
                throw new MountException($"mount {Describe(mount)} on {target}: {Libc.ErrorText(Libc.LastError)}");
        }
        if (!flags.HasFlag(MountFlags.Remount))
            _mounted.Add(target);

        if (options.BindRemountFlags is { } remount)
            OnNewMount(rootfs, relative, mount.Target, (nuint)(ulong)remount, $"remount {target} ({remount})");
        if (options.Propagation != MountFlags.None)
            OnNewMount(rootfs, relative, mount.Target, (nuint)(ulong)options.Propagation, $"set propagation of {target}");
        _logger.LogDebug("mounted {Mount} on {Target}", Describe(mount), target);
    }

    /// <summary>
    /// A flags-only mount call on the mount just made. The descriptor used to
    /// make it names the directory underneath, so the target is resolved again
    /// (inside the rootfs, as before), which now lands on the new mount.
    /// </summary>
    private static void OnNewMount(string rootfs, string relative, string requested, nuint flags, string what)
    {
        using var root = RootfsDirectory.Open(rootfs);
        using var top = root.OpenExisting(relative, requested);
        if (Posix.Mount(null, top.MagicLink, null, flags, null) != 0)
            throw new MountException($"{what}: {Libc.ErrorText(Libc.LastError)}");
    }

    private static string Describe(Mount mount) =>
        $"{mount.Type} {mount.Source} ({string.Join(',', mount.Options)})";
}
