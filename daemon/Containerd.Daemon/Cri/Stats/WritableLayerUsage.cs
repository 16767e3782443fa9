namespace Containerd.Daemon.Cri.Stats;

/// <summary>
/// A container's writable layer as the caller measured it (its snapshot's
/// upper directory): bytes and inodes used, and the mountpoint of the
/// filesystem it lives on (containerd reports its image filesystem's path).
/// </summary>
public sealed record WritableLayerUsage(long TimestampNs, string Mountpoint, ulong UsedBytes, ulong InodesUsed);
