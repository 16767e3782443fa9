using Containerd.Api.Shim;
using Containerd.Shared.Bundles;
using Containerd.Shared.Native;
using Containerd.Shared.Tasks;
using Containerd.Shim.Io;
using Containerd.Shim.Reaper;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using ApiProcessState = Containerd.Api.Shim.ProcessState;

namespace Containerd.Shim.Process;

/// <summary>
/// A process started in the container with runc exec --detach. It starts
/// running and stays, exit included, until DeleteProcess (or the task's
/// delete) frees it (containerd's process/exec.go).
/// </summary>
internal sealed class ExecProcess : ShimProcess
{
    internal const int SigKill = 9;

    private volatile ExecState _state = ExecRunningState.Instance;

    public ExecProcess(
        IContainerRuntime runtime, IProcessObserver observer, ILogger logger, int pid, Stdio stdio, ProcessIo? io,
        Task<ProcessExit> reaped, ByteString specJson, ExecSpec spec)
        : base(runtime, observer, logger, pid, stdio, io, reaped)
    {
        SpecJson = specJson;
        Spec = spec;
    }

    /// <summary>The OCI process spec exactly as the client sent it.</summary>
    public ByteString SpecJson { get; }

    public ExecSpec Spec { get; }

    public ExecState State => _state;

    public override ProcessState CurrentState => _state;

    public override bool IsInit => false;

    public override string Describe() => $"process {Pid} in task \"{ContainerId}\"";

    /// <summary>
    /// runc exec --detach with the spec in a root-only file (its environment
    /// may hold secrets); the spec and pid files are gone when this returns.
    /// </summary>
    /// <param name="name">Unique within the task; names the exec's files in the bundle.</param>
    /// <param name="watch">The reaper's watch (pid, not-before tick).</param>
    public static async Task<ExecProcess> StartAsync(
        IContainerRuntime runtime, TaskBundle bundle, string name, ByteString specJson, ExecSpec spec, Stdio stdio, ProcessIo io,
        Func<int, long, Task<ProcessExit>> watch, IProcessObserver observer, ILogger logger)
    {
        var specFile = bundle.ExecSpecFile(name);
        var pidFile = bundle.ExecPidFile(name);
        try
        {
            AtomicFile.Write(specFile, specJson.Span);
            var notBefore = Environment.TickCount64;
            await runtime.ExecAsync(specFile, pidFile, io).ConfigureAwait(false);
            var pid = PidFile.Read(pidFile);
            var exec = new ExecProcess(runtime, observer, logger, pid, stdio, io, watch(pid, notBefore), specJson, spec);
            try
            {
                io.AttachConsole();
            }
            catch
            {
                // runc started it but its terminal never reached the shim: nobody could use it.
                exec.Abandon();
                throw;
            }
            return exec;
        }
        finally
        {
            File.Delete(specFile);
            File.Delete(pidFile);
        }
    }

    public async Task KillAsync(int signal, CancellationToken cancellationToken)
    {
        using (await Lock.EnterAsync(cancellationToken).ConfigureAwait(false))
            await _state.KillAsync(this, signal).ConfigureAwait(false);
    }

    /// <summary>DeleteProcess: refused while it runs; frees its io.</summary>
    public async Task DeleteAsync(CancellationToken cancellationToken)
    {
        using (await Lock.EnterAsync(cancellationToken).ConfigureAwait(false))
        {
            await CatchUpExitLockedAsync().ConfigureAwait(false);
            _state.Delete(this);
        }
    }

    /// <summary>
    /// The task is being deleted: the exec died with the container's pid
    /// namespace; its exit is recorded if it is reaped in time, then it is deleted.
    /// False when it was not reaped.
    /// </summary>
    public async Task<bool> FinishWithTaskAsync()
    {
        using (await Lock.EnterAsync(CancellationToken.None).ConfigureAwait(false))
        {
            var reaped = _state.IsFinished || await FinishExitLockedAsync(OutputWait).ConfigureAwait(false);
            _state.Drop(this);
            return reaped;
        }
    }

    /// <summary>
    /// Nobody will ever see this process: its client gave up while runc exec
    /// ran (or its task stopped meanwhile). It is SIGKILLed and forgotten: no
    /// table entry, no events; once reaped (the reaper reaps every child, so
    /// no zombie stays) its io is released.
    /// </summary>
    public void Abandon()
    {
        // Not yet reaped: the pid is still this process's (at worst a zombie), never a reused one.
        if (!Reaped.IsCompleted)
            Runtime.Signal(Pid, SigKill);
        _ = ForgetAsync();
    }

    private async Task ForgetAsync()
    {
        try
        {
            await Reaped.WaitAsync(OutputWait + OutputWait).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Logger.LogWarning("abandoned process {Pid} was not reaped after SIGKILL", Pid);
        }
        ReleaseIo();
        MoveTo(ExecDeletedState.Instance);
    }

    /// <summary>A pid-reuse casualty: an exited exec nobody deleted, whose pid now belongs to a new one.</summary>
    public async Task DropAsync()
    {
        using (await Lock.EnterAsync(CancellationToken.None).ConfigureAwait(false))
            _state.Drop(this);
    }

    public override ApiProcessState ToState(Api.Types.Status reportedStatus)
    {
        var state = base.ToState(reportedStatus);
        state.Spec = SpecJson;
        return state;
    }

    /// <summary>The shared reply shape, plus what only an exec has: its spec's args, env, cwd and user.</summary>
    public Api.Types.Process ToProcess(Api.Types.Status reportedStatus)
    {
        var process = TaskReplies.Process((uint)Pid, reportedStatus, ExitStatus, Stdio);
        process.Terminal = Spec.Terminal || Stdio.Terminal;
        process.Cwd = Spec.Cwd;
        process.User = Spec.User;
        process.Args.AddRange(Spec.Args);
        process.Env.AddRange(Spec.Env);
        return process;
    }

    /// <summary>Under the state gate (an exec's only moves are to stopped and deleted).</summary>
    internal void MoveTo(ExecState next)
    {
        lock (StateGate)
        {
            _state = next;
            if (next.IsFinished)
                MarkFinished();
        }
    }

    protected override bool RecordExitGated(ProcessExit exit) => _state.Exited(this, exit);

    /// <summary>kill(2) of the exec's pid; a process that is gone is NotFound.</summary>
    internal Task SignalLocked(int signal)
    {
        // Reaped but not yet recorded: its pid may already belong to someone else.
        if (Reaped.IsCompleted)
            throw ShimErrors.NotFound($"cannot kill {Describe()}: process already finished");
        var errno = Runtime.Signal(Pid, signal);
        if (errno == Libc.ESRCH)
            throw ShimErrors.NotFound($"cannot kill {Describe()}: process already finished");
        if (errno != 0)
            throw ShimErrors.Internal($"cannot kill {Describe()}: {Libc.ErrorText(errno)}");
        return Task.CompletedTask;
    }
}
