using Containerd.Api.Shim;
using Containerd.Shared.Bundles;
using Containerd.Shared.Tasks;
using Containerd.Shim.Io;
using Containerd.Shim.Reaper;
using Containerd.Shim.Runc;
using Microsoft.Extensions.Logging;
using Status = Containerd.Api.Types.Status;

namespace Containerd.Shim.Process;

/// <summary>
/// The container's init process (runc create/start). Its operations take its
/// lock and let the current <see cref="InitState"/> decide and perform the
/// transition (containerd's process/init.go).
/// </summary>
internal sealed class InitProcess : ShimProcess
{
    /// <summary>How long a delete waits for a killed init to be reaped.</summary>
    public static readonly TimeSpan KillWait = TimeSpan.FromSeconds(10);

    private const int SigKill = 9;

    // Written under the state gate, read without it (State, Processes): always a whole reference.
    private volatile InitState _state;

    // Under the state gate. An init can exit while runc start still runs (a
    // container that does nothing); its EXIT must still follow its START.
    private bool _starting;
    private ProcessExit? _exitAfterStart;

    public InitProcess(
        IContainerRuntime runtime, IProcessObserver observer, ILogger logger, int pid, Stdio stdio, ProcessIo? io, Task<ProcessExit> reaped)
        : base(runtime, observer, logger, pid, stdio, io, reaped)
    {
        _state = InitCreatedState.Instance;
    }

    private InitProcess(
        IContainerRuntime runtime, IProcessObserver observer, ILogger logger, Stdio stdio, ProcessIo? io, InitCreatedCheckpointState pending)
        : base(runtime, observer, logger, pid: 0, stdio, io, pending.ReapedSource.Task)
    {
        _state = pending;
    }

    public InitState State => _state;

    public override ProcessState CurrentState => _state;

    public override bool IsInit => true;

    public override string Describe() => $"task \"{ContainerId}\"";

    /// <summary>
    /// runc create. Returns the created init; its exit is watched from before
    /// runc ran, so an init that dies at once is not missed.
    /// </summary>
    /// <param name="watch">The reaper's watch (pid, not-before tick).</param>
    public static async Task<InitProcess> CreateAsync(
        IContainerRuntime runtime, TaskBundle bundle, Stdio stdio, ProcessIo io,
        Func<int, long, Task<ProcessExit>> watch, IProcessObserver observer, ILogger logger)
    {
        var notBefore = Environment.TickCount64;
        await runtime.CreateAsync(bundle.Directory, bundle.InitPidFile, io).ConfigureAwait(false);
        var pid = PidFile.Read(bundle.InitPidFile);
        // A failure here is the caller's to clean up, as a failed runc create: the container is removed.
        io.AttachConsole();
        return new InitProcess(runtime, observer, logger, pid, stdio, io, watch(pid, notBefore));
    }

    /// <summary>
    /// An init created from a checkpoint (containerd's shim does the same):
    /// no runc call yet and no pid (0); Start runs <c>runc restore</c>. Its
    /// <see cref="ShimProcess.Reaped"/> completes once the restored process is
    /// reaped, or when the task is deleted before it ran.
    /// </summary>
    public static InitProcess ForRestore(
        IContainerRuntime runtime, RestoreOptions restore, Stdio stdio, ProcessIo? io,
        Func<int, long, Task<ProcessExit>> watch, IProcessObserver observer, ILogger logger)
    {
        var reaped = new TaskCompletionSource<ProcessExit>(TaskCreationOptions.RunContinuationsAsynchronously);
        return new InitProcess(runtime, observer, logger, stdio, io, new InitCreatedCheckpointState(restore, watch, reaped));
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        using (await Lock.EnterAsync(cancellationToken).ConfigureAwait(false))
            await _state.StartAsync(this).ConfigureAwait(false);
    }

    public async Task PauseAsync(CancellationToken cancellationToken)
    {
        using (await Lock.EnterAsync(cancellationToken).ConfigureAwait(false))
            await _state.PauseAsync(this).ConfigureAwait(false);
    }

    public async Task ResumeAsync(CancellationToken cancellationToken)
    {
        using (await Lock.EnterAsync(cancellationToken).ConfigureAwait(false))
            await _state.ResumeAsync(this).ConfigureAwait(false);
    }

    /// <summary>runc update under the init's lock: only a created, running or paused init may (see the states).</summary>
    public async Task UpdateAsync(byte[] resourcesJson, CancellationToken cancellationToken)
    {
        using (await Lock.EnterAsync(cancellationToken).ConfigureAwait(false))
        {
            await CatchUpExitLockedAsync().ConfigureAwait(false);
            await _state.UpdateAsync(this, resourcesJson).ConfigureAwait(false);
        }
    }

    /// <summary>runc checkpoint under the init's lock: only a running or paused init may (see the states).</summary>
    public async Task CheckpointAsync(CheckpointOptions options, CancellationToken cancellationToken)
    {
        using (await Lock.EnterAsync(cancellationToken).ConfigureAwait(false))
        {
            await CatchUpExitLockedAsync().ConfigureAwait(false);
            await _state.CheckpointAsync(this, options).ConfigureAwait(false);
        }
    }

    public async Task KillAsync(int signal, bool all, CancellationToken cancellationToken)
    {
        using (await Lock.EnterAsync(cancellationToken).ConfigureAwait(false))
            await _state.KillAsync(this, signal, all).ConfigureAwait(false);
    }

    /// <summary>
    /// Whether the state allows an exec (FailedPrecondition if not). Judged
    /// under the init's lock but not held across runc exec: a hung runc exec
    /// must not block Kill, Delete or the init's exit. The caller checks again
    /// once runc exec returned (the init may have stopped meanwhile).
    /// </summary>
    public async Task CheckExecAsync(CancellationToken cancellationToken)
    {
        using (await Lock.EnterAsync(cancellationToken).ConfigureAwait(false))
        {
            _state.CheckExec(this);
            // Reaped but not yet recorded: refused without recording the exit here,
            // which is the exit router's (it publishes the execs' exits first).
            if (Reaped.IsCompleted)
                throw ShimErrors.FailedPrecondition($"cannot exec in {Describe()}: it is stopped");
        }
    }

    /// <summary>Delete: refused while running or paused; removes the container through <paramref name="teardown"/>.</summary>
    public async Task DeleteAsync(IContainerTeardown teardown, CancellationToken cancellationToken)
    {
        using (await Lock.EnterAsync(cancellationToken).ConfigureAwait(false))
        {
            await CatchUpExitLockedAsync().ConfigureAwait(false);
            await _state.DeleteAsync(this, teardown).ConfigureAwait(false);
        }
    }

    /// <summary>Forced shutdown: removes the container whatever the state (nothing when already deleted).</summary>
    public async Task ForceDeleteAsync(IContainerTeardown teardown, CancellationToken cancellationToken)
    {
        using (await Lock.EnterAsync(cancellationToken).ConfigureAwait(false))
            await _state.ForceDeleteAsync(this, teardown).ConfigureAwait(false);
    }

    /// <summary>The init as Processes describes it.</summary>
    public Api.Types.Process ToProcess() => TaskReplies.Process((uint)Pid, _state.Status, ExitStatus, Stdio);

    /// <summary>
    /// Moves to <paramref name="next"/> and runs <paramref name="publish"/>,
    /// both under the state gate; false (nothing published) when an exit
    /// recorded meanwhile made a live state stale: a stopped init stays stopped.
    /// </summary>
    internal bool MoveTo(InitState next, Action? publish = null)
    {
        lock (StateGate)
        {
            if (_state.IsFinished && !next.IsFinished)
                return false;
            _state = next;
            if (next.IsFinished)
                MarkFinished();
            publish?.Invoke();
            return true;
        }
    }

    /// <summary>
    /// runc start, then START; an exit recorded while runc start ran is
    /// published after the START (and alone when runc start failed).
    /// </summary>
    internal async Task RunStartLockedAsync()
    {
        lock (StateGate)
            _starting = true;
        var started = false;
        try
        {
            await RunRuntimeAsync(runtime => runtime.StartAsync(), "start").ConfigureAwait(false);
            started = true;
        }
        finally
        {
            FinishStartGated(started);
        }
    }

    /// <summary>After runc start or restore: running and START (when it worked), then an exit that came meanwhile.</summary>
    private void FinishStartGated(bool started)
    {
        lock (StateGate)
        {
            _starting = false;
            if (started)
            {
                if (!_state.IsFinished)
                    _state = InitRunningState.Instance;
                Observer.Started(this);
            }
            if (_exitAfterStart is { } exit)
            {
                _exitAfterStart = null;
                Observer.Exited(this, exit);
            }
        }
    }

    /// <summary>runc update of the container's cgroup; the state does not change.</summary>
    internal async Task RunUpdateAsync(byte[] resourcesJson)
    {
        // Reaped but not yet recorded: the cgroup is going; say so rather than quote runc.
        if (Reaped.IsCompleted)
            throw ShimErrors.FailedPrecondition($"{Describe()} is not running (it is stopped): cannot update its resources");
        await RunRuntimeAsync(runtime => runtime.UpdateAsync(resourcesJson), "update the resources of").ConfigureAwait(false);
        Logger.LogInformation("updated the resources of init {InitPid}", Pid);
    }

    /// <summary>
    /// runc checkpoint. The state does not change here: with exit, runc stops
    /// the container after the dump and its exit arrives as any other.
    /// </summary>
    internal async Task RunCheckpointAsync(CheckpointOptions options)
    {
        // Reaped but not yet recorded: the container is gone; say so rather than quote runc.
        if (Reaped.IsCompleted)
            throw ShimErrors.FailedPrecondition($"cannot checkpoint {Describe()}: it is stopped");
        await RunRuntimeAsync(runtime => runtime.CheckpointAsync(options), "checkpoint").ConfigureAwait(false);
        Logger.LogInformation("checkpointed init {InitPid} into {ImagePath} (exit {Exit})", Pid, options.ImagePath, options.Exit);
    }

    /// <summary>
    /// runc restore for an init created from a checkpoint, then START with its
    /// new pid. CRIU's work directory goes on every path (its log is read into
    /// the error first), the image once restored. A failed restore leaves the
    /// state as it was but refuses another try: runc has consumed the stdio
    /// meant for the process; Delete cleans up.
    /// </summary>
    internal async Task RunRestoreLockedAsync(InitCreatedCheckpointState pending)
    {
        if (pending.Failure is { } earlier)
            throw ShimErrors.FailedPrecondition($"cannot start {Describe()}: its restore failed ({earlier}); delete it");
        lock (StateGate)
            _starting = true;
        var started = false;
        try
        {
            var restore = pending.Restore;
            int pid;
            var notBefore = Environment.TickCount64;
            try
            {
                Directory.CreateDirectory(restore.WorkPath);
                pid = await Runtime.RestoreAsync(restore, Io).ConfigureAwait(false);
            }
            catch (Exception e) when (e is RuncException or IOException or UnauthorizedAccessException)
            {
                pending.Failure = e.Message;
                throw RuncErrors.ToRpc(e, $"cannot restore {Describe()}");
            }
            finally
            {
                RemoveDirectory(restore.WorkPath);
            }
            var exited = pending.Watch(pid, notBefore);
            lock (StateGate)
                AssignPid(pid);
            _ = ForwardExitAsync(exited, pending.ReapedSource);
            // A failure here is as after runc create: Delete removes the container.
            Io?.AttachConsole();
            RemoveDirectory(restore.ImagePath);
            started = true;
            Logger.LogInformation("restored init {InitPid} from {ImagePath}", pid, restore.ImagePath);
        }
        finally
        {
            FinishStartGated(started);
        }
    }

    private static async Task ForwardExitAsync(Task<ProcessExit> exited, TaskCompletionSource<ProcessExit> reaped) =>
        reaped.TrySetResult(await exited.ConfigureAwait(false));

    private void RemoveDirectory(string path)
    {
        try
        {
            if (Directory.Exists(path))
                Directory.Delete(path, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Logger.LogWarning("cannot remove {Path}: {Error}", path, e.Message);
        }
    }

    /// <summary>Under the state gate: EXIT now, or after the START of a start in progress.</summary>
    internal void PublishExitGated(ProcessExit exit)
    {
        if (_starting)
            _exitAfterStart = exit;
        else
            Observer.Exited(this, exit);
    }

    protected override bool RecordExitGated(ProcessExit exit) => _state.Exited(this, exit);

    /// <summary>Signals the init through runc; an init that is gone is NotFound.</summary>
    internal async Task SignalLockedAsync(int signal, bool all)
    {
        // Reaped but not yet recorded: runc may signal a reused pid.
        if (Reaped.IsCompleted)
            throw ShimErrors.NotFound($"cannot kill {Describe()}: process already finished");
        try
        {
            await Runtime.KillAsync(signal, all).ConfigureAwait(false);
        }
        catch (RuncException e) when (RuncErrors.Classify(e) == RuncErrorKind.ContainerMissing || e.NotRunning)
        {
            throw ShimErrors.NotFound($"cannot kill {Describe()}: process already finished ({e.Message})");
        }
        catch (RuncException e)
        {
            throw RuncErrors.ToRpc(e, $"cannot kill {Describe()}");
        }
        Logger.LogDebug("sent signal {Signal} to init {InitPid}", signal, Pid);
    }

    /// <summary>A never-started init: SIGKILL (runc allows it for a created container), then its exit.</summary>
    internal async Task KillCreatedLockedAsync()
    {
        try
        {
            await Runtime.KillAsync(SigKill, all: false).ConfigureAwait(false);
        }
        catch (RuncException e)
        {
            Logger.LogDebug("kill of created init {InitPid}: {Error}", Pid, e.Message);
        }
        await FinishExitLockedAsync(KillWait).ConfigureAwait(false);
    }

    /// <summary>
    /// The one teardown of a task, for Delete and forced Shutdown alike: the
    /// container, mounts and execs go, the init's exit is recorded (as SIGKILL
    /// when it is never reaped), its io is released, and it is deleted.
    /// </summary>
    internal async Task RemoveLockedAsync(IContainerTeardown teardown, bool strict)
    {
        await teardown.RemoveContainerAsync(strict).ConfigureAwait(false);
        if (!_state.IsFinished && !await FinishExitLockedAsync(KillWait).ConfigureAwait(false))
        {
            Logger.LogWarning("init {InitPid} was not reaped after delete", Pid);
            RecordExit(new ProcessExit(128 + SigKill, DateTime.UtcNow));
        }
        ReleaseIo();
        MoveTo(InitDeletedState.Instance);
    }
}
