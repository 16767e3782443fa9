using Containerd.Daemon.Shims;
using Google.Protobuf.WellKnownTypes;
using Event = Containerd.Api.Types.Event;

namespace Containerd.Daemon.Tasks;

/// <summary>
/// What is left of a task whose shim died: the init's exit as well as it could
/// be known. The container, its mounts, bundle and socket are already removed.
/// </summary>
/// <param name="ExitStatus">The init's status: the one its shim reported, else 137 when the cleanup killed the orphaned container, else 255 (unknown).</param>
/// <param name="ExitedAt">When the init exited, or when the daemon found it gone.</param>
public sealed record TaskTombstone(uint ExitStatus, Timestamp ExitedAt)
{
    /// <summary>Nobody can tell how the init ended (no EXIT seen, the cleanup could not say).</summary>
    public const uint UnknownExitStatus = 255;

    /// <summary>
    /// The tombstone of a task whose shim is gone: the init's EXIT if the shim
    /// published it, else what the shim's delete command reported (137 when it
    /// killed a live container), else unknown.
    /// </summary>
    public static TaskTombstone Of(Event? initExit, ShimDeleteResult? deleted, DateTime now) =>
        initExit is not null
            ? new TaskTombstone(initExit.ExitStatus, initExit.ExitedAt ?? Timestamp.FromDateTime(now))
            : new TaskTombstone(deleted?.ExitStatus ?? UnknownExitStatus, Timestamp.FromDateTime(now));
}
