using Containerd.Daemon.Shims;
using Google.Protobuf.WellKnownTypes;
using Event = Containerd.Api.Types.Event;

namespace Containerd.Daemon.Tasks;

/// <summary>
/// What is left of a task whose shim died: the init's exit as well as it could
/// be known, and the exit of every exec'd process not yet deleted. The
/// container and its mounts are already removed; the bundle stays, holding the
/// tombstone (<see cref="TombstoneFile"/>), until Delete.
/// </summary>
/// <param name="ExitStatus">The init's status: the one its shim reported, else 137 when the cleanup killed the orphaned container, else 255 (unknown).</param>
/// <param name="ExitedAt">When the init exited, or when the daemon found it gone.</param>
public sealed record TaskTombstone(uint ExitStatus, Timestamp ExitedAt)
{
    /// <summary>Nobody can tell how the init ended (no EXIT seen, the cleanup could not say).</summary>
    public const uint UnknownExitStatus = 255;

    /// <summary>The exec'd processes not yet deleted, by pid.</summary>
    public IReadOnlyList<ExecExit> Execs { get; init; } = [];

    /// <summary>
    /// The tombstone of a task whose shim is gone: the init's EXIT if the shim
    /// published it, else what the shim's delete command reported (137 when it
    /// killed a live container), else unknown.
    /// </summary>
    public static TaskTombstone Of(Event? initExit, ShimDeleteResult? deleted, DateTime now) =>
        Of(initExit, [], deleted, now);

    /// <summary>
    /// As <see cref="Of(Event?, ShimDeleteResult?, DateTime)"/>, with the
    /// execs the daemon knew of: one whose exit was seen keeps it; one still
    /// running died with its container, so it ends as the cleanup said (137
    /// when it killed a live container, else unknown) at <paramref name="now"/>.
    /// </summary>
    public static TaskTombstone Of(
        Event? initExit, IEnumerable<KeyValuePair<uint, ExecExit?>> execs, ShimDeleteResult? deleted, DateTime now)
    {
        var at = Timestamp.FromDateTime(now);
        var init = initExit is not null
            ? new TaskTombstone(initExit.ExitStatus, initExit.ExitedAt ?? at)
            : new TaskTombstone(deleted?.ExitStatus ?? UnknownExitStatus, at);
        return init with
        {
            Execs = execs
                .Select(e => e.Value ?? new ExecExit(e.Key, deleted?.ExitStatus ?? UnknownExitStatus, at))
                .OrderBy(e => e.Pid)
                .ToList(),
        };
    }

    public ExecExit? Exec(uint pid) => Execs.FirstOrDefault(e => e.Pid == pid);

    public TaskTombstone WithoutExec(uint pid) => this with { Execs = Execs.Where(e => e.Pid != pid).ToList() };

    public bool Equals(TaskTombstone? other) =>
        other is not null && ExitStatus == other.ExitStatus && Equals(ExitedAt, other.ExitedAt) && Execs.SequenceEqual(other.Execs);

    public override int GetHashCode() => HashCode.Combine(ExitStatus, ExitedAt, Execs.Count);
}
