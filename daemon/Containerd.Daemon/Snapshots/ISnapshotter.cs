using Mount = Containerd.Api.Types.Mount;

namespace Containerd.Daemon.Snapshots;

/// <summary>
/// Layered filesystem snapshots, as containerd's snapshots.Snapshotter. Keys
/// and names share one namespace. A missing key throws
/// <see cref="SnapshotNotFoundException"/>, an existing one
/// <see cref="SnapshotExistsException"/>, a forbidden change
/// <see cref="SnapshotPreconditionException"/> (gRPC FailedPrecondition).
/// </summary>
public interface ISnapshotter
{
    /// <summary>A new active (writable) snapshot on <paramref name="parent"/> (a committed snapshot, or null for an empty one); returns its mounts.</summary>
    Task<IReadOnlyList<Mount>> PrepareAsync(string key, string? parent, CancellationToken cancellationToken);

    /// <summary>A new read-only view of <paramref name="parent"/> (committed, or null for an empty one); returns its mounts.</summary>
    Task<IReadOnlyList<Mount>> ViewAsync(string key, string? parent, CancellationToken cancellationToken);

    /// <summary>Turns the active snapshot <paramref name="key"/> into the committed snapshot <paramref name="name"/> (the key is gone afterwards).</summary>
    Task CommitAsync(string name, string key, CancellationToken cancellationToken);

    /// <summary>Removes the snapshot and its files; refused with <see cref="SnapshotPreconditionException"/> while another snapshot has it as parent.</summary>
    Task RemoveAsync(string key, CancellationToken cancellationToken);

    /// <summary>The mounts of an active snapshot or view (again: Prepare's answer).</summary>
    IReadOnlyList<Mount> Mounts(string key);

    /// <summary>The snapshot's info, or null when absent.</summary>
    SnapshotInfo? Stat(string key);

    /// <summary>Every snapshot, ordered by key.</summary>
    IReadOnlyList<SnapshotInfo> List();

    /// <summary>Bytes used by the snapshot's own layer directory (not its parents').</summary>
    Task<long> UsageAsync(string key, CancellationToken cancellationToken);

    /// <summary>
    /// The writable directory of an active snapshot (overlay's upperdir, or the
    /// bind mount's source): the unpacker applies a layer straight into it
    /// without mounting, as containerd's overlay differ does.
    /// </summary>
    string UpperDirectory(string key);
}
