namespace Containerd.Shim.Mounts;

/// <summary>
/// mount(8) option words split the way mount(8) does: known words become
/// flags (or clear them: <c>rw</c>, <c>suid</c>, <c>dev</c>, ...), propagation
/// words are applied by a separate mount call, everything else is
/// filesystem data (e.g. overlay's <c>lowerdir=</c>), joined with commas.
/// </summary>
internal sealed record MountOptions(MountFlags Flags, MountFlags Propagation, string? Data)
{
    public static MountOptions Parse(string type, IEnumerable<string> options)
    {
        var flags = type switch
        {
            "bind" => MountFlags.Bind,
            "rbind" => MountFlags.Bind | MountFlags.Recursive,
            _ => MountFlags.None,
        };
        var propagation = MountFlags.None;
        List<string>? data = null;
        foreach (var option in options)
        {
            switch (option)
            {
                case "" or "defaults": break;
                case "ro": flags |= MountFlags.ReadOnly; break;
                case "rw": flags &= ~MountFlags.ReadOnly; break;
                case "bind": flags |= MountFlags.Bind; break;
                case "rbind": flags |= MountFlags.Bind | MountFlags.Recursive; break;
                case "nosuid": flags |= MountFlags.NoSuid; break;
                case "suid": flags &= ~MountFlags.NoSuid; break;
                case "nodev": flags |= MountFlags.NoDev; break;
                case "dev": flags &= ~MountFlags.NoDev; break;
                case "noexec": flags |= MountFlags.NoExec; break;
                case "exec": flags &= ~MountFlags.NoExec; break;
                case "sync": flags |= MountFlags.Synchronous; break;
                case "async": flags &= ~MountFlags.Synchronous; break;
                case "dirsync": flags |= MountFlags.DirSync; break;
                case "remount": flags |= MountFlags.Remount; break;
                case "mand": flags |= MountFlags.MandLock; break;
                case "nomand": flags &= ~MountFlags.MandLock; break;
                case "noatime": flags |= MountFlags.NoAtime; break;
                case "atime": flags &= ~MountFlags.NoAtime; break;
                case "nodiratime": flags |= MountFlags.NoDirAtime; break;
                case "diratime": flags &= ~MountFlags.NoDirAtime; break;
                case "relatime": flags |= MountFlags.RelAtime; break;
                case "norelatime": flags &= ~MountFlags.RelAtime; break;
                case "strictatime": flags |= MountFlags.StrictAtime; break;
                case "nostrictatime": flags &= ~MountFlags.StrictAtime; break;
                case "private": propagation = MountFlags.Private; break;
                case "rprivate": propagation = MountFlags.Private | MountFlags.Recursive; break;
                case "shared": propagation = MountFlags.Shared; break;
                case "rshared": propagation = MountFlags.Shared | MountFlags.Recursive; break;
                case "slave": propagation = MountFlags.Slave; break;
                case "rslave": propagation = MountFlags.Slave | MountFlags.Recursive; break;
                case "unbindable": propagation = MountFlags.Unbindable; break;
                case "runbindable": propagation = MountFlags.Unbindable | MountFlags.Recursive; break;
                default: (data ??= []).Add(option); break;
            }
        }
        return new MountOptions(flags, propagation, data is null ? null : string.Join(',', data));
    }

    private const MountFlags PerMountFlags = MountFlags.ReadOnly | MountFlags.NoSuid | MountFlags.NoDev
        | MountFlags.NoExec | MountFlags.NoAtime | MountFlags.NoDirAtime | MountFlags.RelAtime | MountFlags.StrictAtime;

    /// <summary>
    /// The kernel ignores ro, nosuid, ... on a new bind mount; like mount(8),
    /// they are applied by a second MS_REMOUNT|MS_BIND call. Null when not needed.
    /// </summary>
    public MountFlags? BindRemountFlags =>
        Flags.HasFlag(MountFlags.Bind) && !Flags.HasFlag(MountFlags.Remount) && (Flags & PerMountFlags) != 0
            ? MountFlags.Remount | MountFlags.Bind | (Flags & PerMountFlags)
            : null;
}
