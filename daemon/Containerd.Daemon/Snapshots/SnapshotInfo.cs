namespace Containerd.Daemon.Snapshots;

/// <summary>What the snapshotter knows about one snapshot.</summary>
public sealed record SnapshotInfo(string Key, string? Parent, SnapshotKind Kind, DateTime CreatedAt);
