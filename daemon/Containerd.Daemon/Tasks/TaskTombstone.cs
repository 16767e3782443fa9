using Google.Protobuf.WellKnownTypes;

namespace Containerd.Daemon.Tasks;

/// <summary>
/// What is left of a task whose shim died: the init's exit as well as it could
/// be known. The container, its mounts, bundle and socket are already removed.
/// </summary>
/// <param name="ExitStatus">The init's status: the one its shim reported, else 137 when the daemon killed the orphaned container, else 255 (unknown).</param>
/// <param name="ExitedAt">When the init exited, or when the daemon found it gone.</param>
public sealed record TaskTombstone(uint ExitStatus, Timestamp ExitedAt);
