namespace Containerd.Daemon.Snapshots;

/// <summary>Thrown when the snapshot is in the wrong state for the operation: it has children, it is not active, its parent is not committed (gRPC FailedPrecondition).</summary>
public sealed class SnapshotPreconditionException(string message) : InvalidOperationException(message);
