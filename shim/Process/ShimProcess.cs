using Containerd.Api.Shim;
using Containerd.Shared.Tasks;
using Containerd.Shim.Io;
using Containerd.Shim.Reaper;
using Containerd.Shim.Runc;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Logging;
using ApiProcessState = Containerd.Api.Shim.ProcessState;

namespace Containerd.Shim.Process;

/// <summary>
/// A container process the shim tracks: the init or an exec'd one. It owns
/// its runtime operations and two locks. <see cref="Lock"/> (async) orders its
/// operations and is held across their runc calls. The state itself changes
/// only under <see cref="StateGate"/>, a short monitor never held across a
/// runc call, so an exit is recorded (and its EXIT published) at once even
/// while an operation waits for a hung runc; an operation that finishes after
/// the exit cannot move a stopped process back (see the states' transitions).
/// <see cref="Reaped"/> completes from the reaper thread when the kernel
/// reports its exit; the exit is recorded (once) by whoever comes first: the
/// task's exit router or an operation that waits for it.
/// </summary>
internal abstract class ShimProcess
{
    /// <summary>
    /// An attached client must get all output before it sees the exit; a
    /// grandchild holding the pipe must not delay the exit for long.
    /// </summary>
    public static readonly TimeSpan OutputWait = TimeSpan.FromSeconds(2);

    protected ShimProcess(
        IContainerRuntime runtime, IProcessObserver observer, ILogger logger, int pid, Stdio stdio, ProcessIo? io, Task<ProcessExit> reaped)
    {
        Runtime = runtime;
        Observer = observer;
        Logger = logger;
        _pid = pid;
        Stdio = stdio;
        Io = io;
        Reaped = reaped;
    }

    public string ContainerId => Runtime.ContainerId;

    // Read without a lock; set once more only when a restore gives the init its process.
    private volatile int _pid;

    /// <summary>Its pid; 0 for an init created from a checkpoint until it is restored.</summary>
    public int Pid => _pid;

    public Stdio Stdio { get; }

    /// <summary>Null once released (deleted), or when the process has no io of its own (tests).</summary>
    public ProcessIo? Io { get; private set; }

    public Task<ProcessExit> Reaped { get; }

    public uint ExitStatus { get; private set; }

    public DateTime? ExitedAt { get; private set; }

    public Timestamp? ExitedAtTimestamp =>
        ExitedAt is { } at ? Timestamp.FromDateTime(DateTime.SpecifyKind(at, DateTimeKind.Utc)) : null;

    /// <summary>Its current state; read without the lock it is a snapshot.</summary>
    public abstract ProcessState CurrentState { get; }

    public abstract bool IsInit { get; }

    internal IContainerRuntime Runtime { get; }

    internal IProcessObserver Observer { get; }

    internal ILogger Logger { get; }

    protected ProcessLock Lock { get; } = new();

    /// <summary>Guards the state and the exit; held only for bookkeeping and publishing, never across runc.</summary>
    internal object StateGate { get; } = new();

    private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once the process is finished: its exit recorded (and published), or it was deleted.</summary>
    public Task Finished => _finished.Task;

    /// <summary>How messages name it: <c>task "x"</c> or <c>process 12 in task "x"</c>.</summary>
    public abstract string Describe();

    /// <summary>The exit router's entry: records the exit unless someone already did. Never waits for an operation.</summary>
    public Task<bool> RecordExitAsync(ProcessExit exit) => Task.FromResult(RecordExit(exit));

    /// <summary>Records the exit under the state gate unless one was already recorded.</summary>
    internal bool RecordExit(ProcessExit exit)
    {
        lock (StateGate)
            return RecordExitGated(exit);
    }

    public void CloseStdin() => Io?.CloseStdin();

    /// <summary>
    /// Resizes its terminal. FailedPrecondition without one; once it exited
    /// (not yet deleted) the resize is harmless and succeeds.
    /// </summary>
    public void ResizePty(WindowSize size)
    {
        if (!Stdio.Terminal)
            throw ShimErrors.FailedPrecondition($"process {Pid} in task \"{ContainerId}\" has no terminal");
        try
        {
            Io?.Resize(size);
        }
        catch (IOException e)
        {
            throw ShimErrors.Internal($"cannot resize the terminal of {Describe()}: {e.Message}");
        }
    }

    /// <summary>
    /// Reopens its CRI log file(s) by path (log rotation). FailedPrecondition
    /// when its output is not written to a CRI log, or once it stopped (as
    /// containerd refuses ReopenContainerLog for a container not running).
    /// </summary>
    public void ReopenLog()
    {
        var io = Io;
        if (io is null ? !CriLogTarget.Is(Stdio.Stdout) && !CriLogTarget.Is(Stdio.Stderr) : !io.HasCriLog)
            throw ShimErrors.FailedPrecondition($"process {Pid} in task \"{ContainerId}\" does not write a CRI log (its stdout and stderr are not {CriLogTarget.Scheme} targets)");
        var notRunning = IsInit ? $"container \"{ContainerId}\" is not running" : $"process {Pid} in task \"{ContainerId}\" is not running";
        if (io is null || CurrentState.IsFinished)
            throw ShimErrors.FailedPrecondition(notRunning);
        try
        {
            io.ReopenLog();
        }
        catch (ObjectDisposedException)
        {
            throw ShimErrors.FailedPrecondition(notRunning);
        }
        catch (IOException e)
        {
            throw ShimErrors.Internal($"cannot reopen the log of {Describe()}: {e.Message}");
        }
    }

    public virtual ApiProcessState ToState(Api.Types.Status reportedStatus) => new()
    {
        Pid = (uint)Pid,
        Status = reportedStatus,
        ExitStatus = ExitStatus,
        ExitedAt = ExitedAtTimestamp,
        Stdio = Stdio,
        Init = IsInit,
    };

    public ShimDeleteResponse ToDeleteReply() =>
        new() { Pid = (uint)Pid, ExitStatus = ExitStatus, ExitedAt = ExitedAtTimestamp };

    /// <summary>Under the state gate: the state decides whether this is the first exit; if so it is kept and observed.</summary>
    protected abstract bool RecordExitGated(ProcessExit exit);

    /// <summary>Under the state gate: the restored init's process exists now.</summary>
    internal void AssignPid(int pid) => _pid = pid;

    /// <summary>Under the state gate, by a state that moved the process to a finished state.</summary>
    internal void MarkFinished() => _finished.TrySetResult();

    /// <summary>Called by a state that accepted the exit.</summary>
    internal void SetExit(ProcessExit exit)
    {
        ExitStatus = (uint)exit.Status;
        ExitedAt = exit.ExitedAt;
    }

    /// <summary>
    /// Under the lock: waits (bounded) for the process to be reaped and its
    /// output copied, then records the exit (under the state gate, first one
    /// wins). False when not reaped in time. Waits on the reaper's task, never
    /// on the exit router, so it cannot deadlock.
    /// </summary>
    internal async Task<bool> FinishExitLockedAsync(TimeSpan reapTimeout)
    {
        if (!Reaped.IsCompleted)
        {
            using var cancel = new CancellationTokenSource();
            var first = await Task.WhenAny(Reaped, Task.Delay(reapTimeout, cancel.Token)).ConfigureAwait(false);
            if (first != Reaped)
                return false;
            await cancel.CancelAsync().ConfigureAwait(false);
        }
        RecordExit(await ReapedWithOutputAsync().ConfigureAwait(false));
        return true;
    }

    /// <summary>The exit, once the process is reaped and its output copied (bounded: a grandchild may hold the pipe).</summary>
    internal async Task<ProcessExit> ReapedWithOutputAsync()
    {
        var exit = await Reaped.ConfigureAwait(false);
        if (Io is { } io)
            await io.WaitOutputAsync(OutputWait).ConfigureAwait(false);
        return exit;
    }

    /// <summary>An exit that already happened is recorded before an operation judges the state.</summary>
    internal async Task CatchUpExitLockedAsync()
    {
        if (!CurrentState.IsFinished && Reaped.IsCompleted)
            await FinishExitLockedAsync(TimeSpan.Zero).ConfigureAwait(false);
    }

    /// <summary>Runs a runtime operation; runc's failure becomes a status naming this process.</summary>
    internal async Task RunRuntimeAsync(Func<IContainerRuntime, Task> operation, string verb)
    {
        try
        {
            await operation(Runtime).ConfigureAwait(false);
        }
        catch (RuncException e)
        {
            throw RuncErrors.ToRpc(e, $"cannot {verb} {Describe()}");
        }
    }

    internal void ReleaseIo()
    {
        Io?.Dispose();
        Io = null;
    }
}
