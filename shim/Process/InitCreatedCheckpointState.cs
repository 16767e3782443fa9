using Containerd.Shim.Reaper;
using Containerd.Shim.Runc;
using Status = Containerd.Api.Types.Status;

namespace Containerd.Shim.Process;

/// <summary>
/// Created from a checkpoint (containerd's createdCheckpointState): the image
/// is unpacked in the bundle but no process exists yet, so the init's pid is
/// 0. Start runs <c>runc restore</c> (and may be retried after a failure: the
/// state stays); Delete removes what there is without a process to kill;
/// kill, exec, pause, resume and checkpoint are refused until it runs.
/// Unlike the other states it holds its restore, so each such init has its own.
/// </summary>
internal sealed class InitCreatedCheckpointState : InitState
{
    /// <summary>The exit status recorded for a task deleted before it was restored: as a created init killed at delete.</summary>
    public const int NeverRestoredExitStatus = 128 + 9;

    public InitCreatedCheckpointState(RestoreOptions restore, Func<int, long, Task<ProcessExit>> watch, TaskCompletionSource<ProcessExit> reaped)
    {
        Restore = restore;
        Watch = watch;
        ReapedSource = reaped;
    }

    public RestoreOptions Restore { get; }

    /// <summary>The reaper's watch, started for the restored pid.</summary>
    internal Func<int, long, Task<ProcessExit>> Watch { get; }

    /// <summary>Completes the init's <see cref="ShimProcess.Reaped"/> once the restored process exits (or the task is deleted).</summary>
    internal TaskCompletionSource<ProcessExit> ReapedSource { get; }

    /// <summary>Why the restore failed, once it did (under the init's lock); Start is refused after that.</summary>
    public string? Failure { get; set; }

    public override Status Status => Status.Created;

    public override string Name => "created from a checkpoint (not restored yet)";

    public override Task StartAsync(InitProcess init) => init.RunRestoreLockedAsync(this);

    /// <summary>There is no process to signal before the restore.</summary>
    public override Task KillAsync(InitProcess init, int signal, bool all) => throw Refuse(init, "kill");

    /// <summary>Allowed: nothing runs, so the exit is recorded at once and the rest removed.</summary>
    public override async Task DeleteAsync(InitProcess init, IContainerTeardown teardown)
    {
        var exit = new ProcessExit(NeverRestoredExitStatus, DateTime.UtcNow);
        init.RecordExit(exit);
        ReapedSource.TrySetResult(exit);
        await init.RemoveLockedAsync(teardown, strict: false).ConfigureAwait(false);
    }

    public override async Task ForceDeleteAsync(InitProcess init, IContainerTeardown teardown) =>
        await DeleteAsync(init, teardown).ConfigureAwait(false);
}
