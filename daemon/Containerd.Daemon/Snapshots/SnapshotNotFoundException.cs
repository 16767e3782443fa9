namespace Containerd.Daemon.Snapshots;

/// <summary>Thrown when the snapshot does not exist (gRPC NotFound).</summary>
public sealed class SnapshotNotFoundException(string message) : FileNotFoundException(message);
