namespace Containerd.Daemon.Snapshots;

/// <summary>Thrown when a snapshot with that key already exists (gRPC AlreadyExists).</summary>
public sealed class SnapshotExistsException(string message) : IOException(message);
