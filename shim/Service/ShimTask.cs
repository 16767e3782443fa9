using System.Globalization;
using Containerd.Api.Shim;
using Containerd.Shared.Native;
using Containerd.Shim.Events;
using Containerd.Shim.Io;
using Containerd.Shim.Mounts;
using Containerd.Shim.Process;
using Containerd.Shim.Reaper;
using Containerd.Shim.Runc;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using EventType = Containerd.Api.Types.Event.Types.EventType;
using Status = Containerd.Api.Types.Status;

namespace Containerd.Shim.Service;

/// <summary>
/// The one task (container) this shim serves: its init, its exec'd processes,
/// its rootfs mounts and its events.
/// <para>
/// Locking: every operation that runs runc or changes the table holds
/// <see cref="_operation"/> for its whole length, so operations never
/// interleave and each one's event is queued before anything that follows.
/// Exits are applied under the same lock (after the process's output has been
/// copied), which orders EXIT after the CREATE/START/EXEC_ADDED of the same
/// process. An operation that must wait for an exit (Delete of a created init)
/// waits on the reaper's task, never on the exit handler, so it cannot
/// deadlock. <see cref="_gate"/> guards reads from State/Processes.
/// </para>
/// </summary>
internal sealed class ShimTask
{
    // An attached client must get all output before it sees the exit; a
    // grandchild holding the pipe must not delay the exit for long.
    private static readonly TimeSpan OutputWait = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan KillWait = TimeSpan.FromSeconds(10);

    private readonly ShimOptions _options;
    private readonly RuncClient _runc;
    private readonly ChildReaper _reaper;
    private readonly EventQueue _events;
    private readonly ILogger _logger;
    private readonly ILogger _ioLogger;
    private readonly SemaphoreSlim _operation = new(1, 1);
    private readonly object _gate = new();
    private readonly Dictionary<int, ExecProcess> _execs = new();
    private readonly RootfsMounts _mounts;
    private InitProcess? _init;
    private long _execCounter;
    // Read by State without the operation lock: a restarted daemon asks while a
    // Create it started before dying may still be running runc create.
    private volatile bool _creating;

    public ShimTask(ShimOptions options, RuncClient runc, ChildReaper reaper, EventQueue events, ILoggerFactory loggers)
    {
        _options = options;
        _runc = runc;
        _reaper = reaper;
        _events = events;
        _logger = loggers.CreateLogger<ShimTask>();
        _ioLogger = loggers.CreateLogger("Containerd.Shim.Io");
        _mounts = new RootfsMounts(loggers.CreateLogger<RootfsMounts>());
    }

    private string Id => _options.Id;

    private string Bundle => _options.Bundle;

    private string Name => $"task \"{Id}\"";

    public async Task<int> CreateAsync(ShimCreateRequest request, CancellationToken cancellationToken)
    {
        if (request.Id.Length > 0 && request.Id != Id)
            throw ShimErrors.InvalidArgument($"cannot create task \"{request.Id}\": this shim serves {Name}");
        if (request.Bundle.Length > 0 && Path.TrimEndingDirectorySeparator(Path.GetFullPath(request.Bundle)) != Bundle)
            throw ShimErrors.InvalidArgument($"cannot create {Name}: bundle {request.Bundle} is not this shim's bundle {Bundle}");
        var stdio = request.Stdio ?? new Stdio();
        RejectTerminal(stdio, $"cannot create {Name}");

        await _operation.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_init is not null)
                throw ShimErrors.AlreadyExists($"{Name} already exists");

            _creating = true;
            var pidFile = Path.Combine(Bundle, "init.pid");
            File.Delete(pidFile);
            ProcessIo? io = null;
            var runcCalled = false;
            try
            {
                _mounts.MountAll(request.Rootfs, Path.Combine(Bundle, "rootfs"));
                io = OpenIo(stdio, $"cannot create {Name}");
                var notBefore = Environment.TickCount64;
                runcCalled = true;
                await _runc.CreateAsync(Id, Bundle, pidFile, io).ConfigureAwait(false);
                var pid = ReadPidFile(pidFile);
                var init = new InitProcess(Id, pid, stdio, io, _reaper.Watch(pid, notBefore));
                lock (_gate)
                    _init = init;
                _ = WatchExitAsync(init);
                _events.Publish(Id, EventType.Create, (uint)pid);
                _logger.LogInformation("created {Task} with init {InitPid}", Name, pid);
                return pid;
            }
            catch (Exception e)
            {
                // Leave nothing behind: no runc container, no mount, no fifo held. A
                // container runc refused because the id exists is not ours to remove.
                if (runcCalled && !(e is RuncException { Message: var m } && m.Contains("already exists", StringComparison.Ordinal)))
                    await ForceDeleteQuietlyAsync().ConfigureAwait(false);
                io?.Dispose();
                _mounts.UnmountAll();
                File.Delete(pidFile);
                _logger.LogWarning("create of {Task} failed: {Error}", Name, e.Message);
                throw Translate(e, $"cannot create {Name}");
            }
        }
        finally
        {
            _creating = false;
            _operation.Release();
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var init = await TransitionInitAsync("start", init => init.State.Start(init), _runc.StartAsync, cancellationToken).ConfigureAwait(false);
        _events.Publish(Id, EventType.Start, (uint)init.Pid);
        _logger.LogInformation("started {Task}", Name);
    }

    public async Task<int> ExecAsync(ByteString specJson, Stdio? stdio, CancellationToken cancellationToken)
    {
        var spec = ExecSpec.TryParse(specJson.Memory, out var problem)
            ?? throw ShimErrors.InvalidArgument($"cannot exec in {Name}: {problem}");
        stdio ??= new Stdio();
        RejectTerminal(stdio, $"cannot exec in {Name}");

        await _operation.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var init = RequireInit("exec in");
            init.State.CheckExec(init);

            var name = "exec-" + (++_execCounter).ToString(CultureInfo.InvariantCulture);
            var specFile = Path.Combine(Bundle, name + ".json");
            var pidFile = Path.Combine(Bundle, name + ".pid");
            var io = OpenIo(stdio, $"cannot exec in {Name}");
            int pid;
            long notBefore;
            try
            {
                WritePrivateFile(specFile, specJson.Span);
                notBefore = Environment.TickCount64;
                await _runc.ExecAsync(Id, specFile, pidFile, io).ConfigureAwait(false);
                pid = ReadPidFile(pidFile);
            }
            catch (Exception e)
            {
                io.Dispose();
                throw Translate(e, $"cannot exec in {Name}");
            }
            finally
            {
                File.Delete(specFile);
                File.Delete(pidFile);
            }

            var exec = new ExecProcess(Id, pid, stdio, io, _reaper.Watch(pid, notBefore), specJson, spec);
            lock (_gate)
            {
                // A pid is unique among live processes; an entry with the same pid is a
                // stopped one nobody deleted, whose pid the kernel has since reused.
                if (_execs.Remove(pid, out var stale))
                {
                    _logger.LogWarning("dropping undeleted exited process {Pid}: its pid was reused", pid);
                    stale.ReleaseIo();
                }
                _execs.Add(pid, exec);
            }
            _ = WatchExitAsync(exec);
            _events.Publish(Id, EventType.ExecAdded, (uint)pid);
            _logger.LogDebug("exec'd {ExecPid} in {Task}", pid, Name);
            return pid;
        }
        finally
        {
            _operation.Release();
        }
    }

    public async Task KillAsync(uint signal, uint pid, bool all, CancellationToken cancellationToken)
    {
        if (signal is < 1 or > 64)
            throw ShimErrors.InvalidArgument($"cannot kill {(pid == 0 ? Name : $"process {pid} in {Name}")}: signal {signal} is not between 1 and 64");

        await _operation.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var init = pid == 0 ? RequireInit("kill") : _init;
            if (init is not null && (pid == 0 || pid == (uint)init.Pid))
            {
                init.State.CheckKill(init);
                if (init.Reaped.IsCompleted)
                    throw ShimErrors.NotFound($"cannot kill {Name}: process already finished");
                try
                {
                    await _runc.KillAsync(Id, (int)signal, all).ConfigureAwait(false);
                }
                catch (RuncException e) when (e.NotRunning || e.ContainerMissing)
                {
                    throw ShimErrors.NotFound($"cannot kill {Name}: process already finished ({e.Message})");
                }
                catch (RuncException e)
                {
                    throw Translate(e, $"cannot kill {Name}");
                }
                _logger.LogDebug("sent signal {Signal} to {Task}", signal, Name);
                return;
            }

            ExecProcess? exec;
            lock (_gate)
                _execs.TryGetValue((int)pid, out exec);
            if (exec is null)
                throw ShimErrors.NotFound($"process {pid} not found in container \"{Id}\"");
            exec.State.CheckKill(exec);
            // Reaped but not yet recorded: its pid may already belong to someone else.
            if (exec.Reaped.IsCompleted)
                throw ShimErrors.NotFound($"cannot kill {exec.Describe()}: process already finished");
            if (Libc.Kill(exec.Pid, (int)signal) != 0)
            {
                var errno = Libc.LastError;
                throw errno == Libc.ESRCH
                    ? ShimErrors.NotFound($"cannot kill {exec.Describe()}: process already finished")
                    : ShimErrors.Internal($"cannot kill {exec.Describe()}: {Libc.ErrorText(errno)}");
            }
        }
        finally
        {
            _operation.Release();
        }
    }

    public async Task PauseAsync(CancellationToken cancellationToken)
    {
        var init = await TransitionInitAsync("pause", init => init.State.Pause(init), _runc.PauseAsync, cancellationToken).ConfigureAwait(false);
        _events.Publish(Id, EventType.Paused, (uint)init.Pid);
    }

    public Task ResumeAsync(CancellationToken cancellationToken) =>
        TransitionInitAsync("resume", init => init.State.Resume(init), _runc.ResumeAsync, cancellationToken);

    /// <summary>
    /// Start, pause and resume are one shape: the state machine decides whether the move is
    /// legal before runc is asked, and the new state is taken only once runc succeeded.
    /// </summary>
    private async Task<InitProcess> TransitionInitAsync(
        string verb, Func<InitProcess, Process.ProcessState> decide, Func<string, Task> runc, CancellationToken cancellationToken)
    {
        await _operation.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var init = RequireInit(verb);
            var next = decide(init);
            await RunRuncAsync(() => runc(Id), $"cannot {verb} {Name}").ConfigureAwait(false);
            lock (_gate)
                init.Transition(next);
            return init;
        }
        finally
        {
            _operation.Release();
        }
    }

    public async Task<List<Api.Types.Process>> ProcessesAsync()
    {
        InitProcess init;
        lock (_gate)
            init = _init ?? throw ShimErrors.NotFound($"{Name} not found: it was not created");

        List<int>? pids = null;
        if (!init.State.IsFinished)
        {
            try
            {
                pids = await _runc.PsAsync(Id).ConfigureAwait(false);
            }
            catch (RuncException e)
            {
                // It stopped meanwhile (or runc is unhappy): report what the shim knows.
                _logger.LogDebug("runc ps {Task}: {Error}", Name, e.Message);
            }
        }

        var result = new List<Api.Types.Process>();
        lock (_gate)
        {
            var live = LiveStatus(init);
            if (pids is not null)
            {
                foreach (var pid in pids)
                {
                    if (pid == init.Pid)
                        result.Add(InitToProcess(init, init.State.Status));
                    else if (_execs.TryGetValue(pid, out var exec) && !exec.State.IsFinished)
                        result.Add(exec.ToProcess(live));
                    else
                        result.Add(new Api.Types.Process { Pid = (uint)pid, Status = live });
                }
            }
            else
            {
                result.Add(InitToProcess(init, init.State.Status));
                foreach (var exec in _execs.Values)
                {
                    if (!exec.State.IsFinished)
                        result.Add(exec.ToProcess(live));
                }
            }
            foreach (var exec in _execs.Values)
            {
                if (exec.State.IsFinished)
                    result.Add(exec.ToProcess(Status.Stopped));
            }
        }
        return result;
    }

    public void CloseStdin(uint pid)
    {
        ShimProcess? process;
        lock (_gate)
        {
            if (pid == 0 || (_init is not null && pid == (uint)_init.Pid))
                process = _init ?? throw ShimErrors.NotFound($"{Name} not found: it was not created");
            else
                process = _execs.GetValueOrDefault((int)pid);
        }
        if (process is null)
            throw ShimErrors.NotFound($"process {pid} not found in container \"{Id}\"");
        process.Io?.CloseStdin();
    }

    public async Task<ShimDeleteResponse> DeleteAsync(CancellationToken cancellationToken)
    {
        await _operation.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var init = RequireInit("delete");
            if (!init.State.IsFinished && init.Reaped.IsCompleted)
                await FinishExitAsync(init, TimeSpan.Zero).ConfigureAwait(false);
            var deleted = init.State.Delete(init);

            if (init.State is CreatedState)
            {
                // Never started: runc allows SIGKILL to a created container.
                try
                {
                    await _runc.KillAsync(Id, 9, all: false).ConfigureAwait(false);
                }
                catch (RuncException e)
                {
                    _logger.LogDebug("kill of created {Task}: {Error}", Name, e.Message);
                }
                await FinishExitAsync(init, KillWait).ConfigureAwait(false);
            }

            try
            {
                // --force also kills what is left in the cgroup when there is no pid namespace.
                await _runc.DeleteAsync(Id, force: true).ConfigureAwait(false);
            }
            catch (RuncException e) when (e.ContainerMissing)
            {
            }
            catch (RuncException e)
            {
                throw Translate(e, $"cannot delete {Name}");
            }

            if (!init.State.IsFinished && !await FinishExitAsync(init, KillWait).ConfigureAwait(false))
            {
                _logger.LogWarning("init {InitPid} of {Task} was not reaped after delete", init.Pid, Name);
                RecordExit(init, new ProcessExit(128 + 9, DateTime.UtcNow));
            }
            await FinishExecsAsync().ConfigureAwait(false);

            _mounts.UnmountAll();
            List<ExecProcess> dropped;
            lock (_gate)
            {
                dropped = [.. _execs.Values];
                _execs.Clear();
                _execs.TrimExcess();
                init.Transition(deleted);
            }
            foreach (var exec in dropped)
                exec.ReleaseIo();
            init.ReleaseIo();
            File.Delete(Path.Combine(Bundle, "init.pid"));
            _logger.LogInformation("deleted {Task} (exit status {ExitStatus})", Name, init.ExitStatus);
            return new ShimDeleteResponse { Pid = (uint)init.Pid, ExitStatus = init.ExitStatus, ExitedAt = init.ExitedAtTimestamp };
        }
        finally
        {
            _operation.Release();
        }
    }

    public async Task<ShimDeleteResponse> DeleteProcessAsync(uint pid, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (pid == 0 || (_init is not null && pid == (uint)_init.Pid))
                throw ShimErrors.InvalidArgument($"cannot delete process {pid} in {Name}: it is the init process, use Delete for the init process");
        }

        await _operation.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ExecProcess? exec;
            lock (_gate)
                _execs.TryGetValue((int)pid, out exec);
            if (exec is null)
                throw ShimErrors.NotFound($"process {pid} not found in container \"{Id}\"");
            if (!exec.State.IsFinished && exec.Reaped.IsCompleted)
                await FinishExitAsync(exec, TimeSpan.Zero).ConfigureAwait(false);
            var deleted = exec.State.Delete(exec);
            lock (_gate)
            {
                _execs.Remove(exec.Pid);
                if (_execs.Count == 0)
                    _execs.TrimExcess();
                exec.Transition(deleted);
            }
            exec.ReleaseIo();
            return new ShimDeleteResponse { Pid = (uint)exec.Pid, ExitStatus = exec.ExitStatus, ExitedAt = exec.ExitedAtTimestamp };
        }
        finally
        {
            _operation.Release();
        }
    }

    public ShimStateResponse State()
    {
        lock (_gate)
        {
            var response = new ShimStateResponse { Id = Id, Bundle = Bundle, Namespace = _options.Namespace, Creating = _creating };
            if (_init is { } init)
            {
                response.Init = init.ToState(init.State.Status);
                var live = LiveStatus(init);
                foreach (var exec in _execs.Values)
                    response.Execs.Add(exec.ToState(exec.State.IsFinished ? exec.State.Status : live));
            }
            return response;
        }
    }

    /// <summary>
    /// Refused while the task exists unless forced; forced, it kills and
    /// removes the container first. The caller then stops the shim.
    /// </summary>
    public async Task ShutdownAsync(bool force, CancellationToken cancellationToken)
    {
        await _operation.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var init = _init;
            if (init is null || init.State is DeletedState)
                return;
            if (!force)
                throw ShimErrors.FailedPrecondition($"cannot shut down the shim of {Name}: the task is {init.State.Name}, delete it first (or force)");

            _logger.LogWarning("forced shutdown: removing {Task}", Name);
            await ForceDeleteQuietlyAsync().ConfigureAwait(false);
            if (!init.State.IsFinished)
                await FinishExitAsync(init, OutputWait).ConfigureAwait(false);
            await FinishExecsAsync().ConfigureAwait(false);
            _mounts.UnmountAll();
            List<ExecProcess> dropped;
            lock (_gate)
            {
                dropped = [.. _execs.Values];
                _execs.Clear();
                init.Transition(DeletedState.Instance);
            }
            foreach (var exec in dropped)
                exec.ReleaseIo();
            init.ReleaseIo();
        }
        finally
        {
            _operation.Release();
        }
    }

    /// <summary>Applies a process's exit once it is reaped and its output is copied.</summary>
    private async Task WatchExitAsync(ShimProcess process)
    {
        try
        {
            var exit = await process.Reaped.ConfigureAwait(false);
            if (process.Io is { } io)
                await io.WaitOutputAsync(OutputWait).ConfigureAwait(false);
            await _operation.WaitAsync().ConfigureAwait(false);
            try
            {
                RecordExit(process, exit);
            }
            finally
            {
                _operation.Release();
            }
        }
        catch (Exception e)
        {
            _logger.LogError("handling the exit of {Pid} in {Task} failed: {Error}", process.Pid, Name, e.Message);
        }
    }

    /// <summary>
    /// Under the operation lock: waits (bounded) for the process to be reaped
    /// and its output copied, then records the exit. False when not reaped in time.
    /// </summary>
    private async Task<bool> FinishExitAsync(ShimProcess process, TimeSpan reapTimeout)
    {
        if (!process.Reaped.IsCompleted)
        {
            using var cancel = new CancellationTokenSource();
            var first = await Task.WhenAny(process.Reaped, Task.Delay(reapTimeout, cancel.Token)).ConfigureAwait(false);
            if (first != process.Reaped)
                return false;
            await cancel.CancelAsync().ConfigureAwait(false);
        }
        var exit = await process.Reaped.ConfigureAwait(false);
        if (process.Io is { } io)
            await io.WaitOutputAsync(OutputWait).ConfigureAwait(false);
        RecordExit(process, exit);
        return true;
    }

    /// <summary>After the init died every exec dies with the pid namespace; record each exit.</summary>
    private async Task FinishExecsAsync()
    {
        List<ExecProcess> running;
        lock (_gate)
            running = _execs.Values.Where(e => !e.State.IsFinished).ToList();
        foreach (var exec in running)
        {
            if (!await FinishExitAsync(exec, OutputWait).ConfigureAwait(false))
                _logger.LogWarning("process {Pid} in {Task} was not reaped", exec.Pid, Name);
        }
    }

    /// <summary>Records an exit once (whoever comes first) and queues its EXIT event.</summary>
    private void RecordExit(ShimProcess process, ProcessExit exit)
    {
        bool recorded;
        lock (_gate)
            recorded = process.SetExited(exit);
        if (!recorded)
            return;
        _events.PublishExit(Id, (uint)process.Pid, (uint)exit.Status, exit.ExitedAt);
        if (process.IsInit)
            _logger.LogInformation("init {InitPid} of {Task} exited with status {ExitStatus}", process.Pid, Name, exit.Status);
        else
            _logger.LogDebug("process {ExecPid} of {Task} exited with status {ExitStatus}", process.Pid, Name, exit.Status);
    }

    private async Task ForceDeleteQuietlyAsync()
    {
        try
        {
            await _runc.DeleteAsync(Id, force: true).ConfigureAwait(false);
        }
        catch (RuncException e) when (e.ContainerMissing)
        {
        }
        catch (RuncException e)
        {
            _logger.LogWarning("runc delete --force {Task}: {Error}", Name, e.Message);
        }
    }

    private InitProcess RequireInit(string verb)
    {
        lock (_gate)
            return _init ?? throw ShimErrors.NotFound($"cannot {verb} {Name}: it was not created");
    }

    /// <summary>What a live process in the container is: paused with the container, else running.</summary>
    private static Status LiveStatus(InitProcess init) => init.State switch
    {
        PausedState => Status.Paused,
        _ when init.State.IsFinished => Status.Stopped,
        _ => Status.Running,
    };

    private static Api.Types.Process InitToProcess(InitProcess init, Status status) => new()
    {
        Pid = (uint)init.Pid,
        Status = status,
        ExitStatus = init.ExitStatus,
        Terminal = init.Stdio.Terminal,
        Stdin = init.Stdio.Stdin,
        Stdout = init.Stdio.Stdout,
        Stderr = init.Stdio.Stderr,
    };

    private ProcessIo OpenIo(Stdio stdio, string context)
    {
        try
        {
            return ProcessIo.Open(stdio, _ioLogger);
        }
        catch (IOException e)
        {
            throw ShimErrors.InvalidArgument($"{context}: {e.Message}");
        }
    }

    private static void RejectTerminal(Stdio stdio, string context)
    {
        if (stdio.Terminal)
            throw ShimErrors.Unimplemented($"{context}: terminal (tty) io is not supported by this shim");
    }

    private static async Task RunRuncAsync(Func<Task> call, string context)
    {
        try
        {
            await call().ConfigureAwait(false);
        }
        catch (RuncException e)
        {
            throw Translate(e, context);
        }
    }

    /// <summary>runc's own words, with the code that fits; other failures keep their message.</summary>
    private static RpcException Translate(Exception exception, string context) => exception switch
    {
        RpcException rpc => rpc,
        RuncException runc when runc.ContainerMissing => ShimErrors.NotFound($"{context}: {runc.Message}"),
        RuncException runc when runc.IsPrecondition => ShimErrors.FailedPrecondition($"{context}: {runc.Message}"),
        RuncException runc => ShimErrors.Internal($"{context}: {runc.Message}"),
        MountException mount => ShimErrors.Internal($"{context}: {mount.Message}"),
        _ => ShimErrors.Internal($"{context}: {exception.Message}"),
    };

    private static int ReadPidFile(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path).Trim();
        }
        catch (IOException e)
        {
            throw new IOException($"cannot read runc's pid file {path}: {e.Message}", e);
        }
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid > 0
            ? pid
            : throw new IOException($"runc's pid file {path} holds no pid: \"{text}\"");
    }

    /// <summary>The process spec may carry secrets in its environment: readable by root only.</summary>
    private static void WritePrivateFile(string path, ReadOnlySpan<byte> content)
    {
        using var stream = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        });
        stream.Write(content);
    }
}
