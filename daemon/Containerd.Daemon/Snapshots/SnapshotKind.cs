namespace Containerd.Daemon.Snapshots;

/// <summary>A snapshot's state, as containerd's snapshots.Kind.</summary>
public enum SnapshotKind
{
    /// <summary>Read-only, never committed (a view of its parent chain).</summary>
    View,

    /// <summary>Writable, may be committed.</summary>
    Active,

    /// <summary>Immutable; may be a parent.</summary>
    Committed,
}
