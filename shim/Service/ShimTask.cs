using System.Globalization;
using Containerd.Api.Shim;
using Containerd.Shared.Tasks;
using Containerd.Shim.Io;
using Containerd.Shim.Mounts;
using Containerd.Shim.Oom;
using Containerd.Shim.Process;
using Containerd.Shim.Reaper;
using Containerd.Shim.Runc;
using Containerd.Shim.Teardown;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Status = Containerd.Api.Types.Status;

namespace Containerd.Shim.Service;

/// <summary>
/// The one task (container) this shim serves: the process table (its init
/// and exec'd processes), its rootfs mounts, and the exit router that hands
/// reaped exits to their processes. The processes do the work themselves.
/// <para>
/// Locking: <see cref="_table"/> serializes what adds to or removes from the
/// table's life (Create, DeleteProcess, Delete, Shutdown); an operation on one
/// process (start, kill, pause, ...) takes only that process's lock, and an
/// exit is recorded under the process's short state gate, never waiting for a
/// runc call. Exec takes no task-wide lock across runc exec: it checks the
/// init's state, runs runc exec (concurrently with any other runc call, each
/// has its own log file), then adds the exec under <see cref="_gate"/> only if
/// the task still takes execs. Locks are taken in one order: table, init, exec.
/// Delete of the task holds the table lock and the init's lock, and drops each
/// exec under the exec's own lock, so an operation on an exec either finishes
/// first or finds the exec deleted.
/// </para>
/// <para>
/// An abandoned exec: runc exec is never cancelled half-way (it could leave
/// a process nobody knows of). When its client gave up before it returned, or
/// the init stopped (or the task was deleted) meanwhile, the process it
/// started is SIGKILLed and forgotten: never in the table, no events, reaped
/// like every child, its io released.
/// </para>
/// <para>
/// Event order: CREATE and EXEC_ADDED are published before the new process's
/// exit is watched, and its exit is published under its state gate after its
/// output was copied, so EXIT follows CREATE/START/EXEC_ADDED of the same
/// process. When the init exits, the execs still alive are killed and their
/// EXITs published before the init's (<see cref="InitExitOrder"/>). An
/// operation that must wait for an exit (Delete of a created init) waits on
/// the reaper's task, never on the exit router, so it cannot deadlock.
/// <see cref="_gate"/> guards the table's dictionary and fields for readers.
/// </para>
/// </summary>
internal sealed class ShimTask : IContainerTeardown
{
    private readonly ShimOptions _options;
    private readonly IContainerRuntime _runtime;
    private readonly ContainerTeardown _teardown;
    private readonly ChildReaper _reaper;
    private readonly TaskEvents _events;
    private readonly ILogger _logger;
    private readonly ILogger _processLogger;
    private readonly ILogger _ioLogger;
    private readonly ILogger _oomLogger;
    private readonly SemaphoreSlim _table = new(1, 1);
    private readonly object _gate = new();
    private readonly Dictionary<int, ExecProcess> _execs = new();
    private readonly RootfsMounts _mounts;
    private InitProcess? _init;
    // Set once the init is created (its cgroup exists then), disposed when the container is removed; under _gate.
    private OomWatcher? _oom;
    // Under _gate: set once the init's exit is being routed or the container is
    // being removed; an exec whose runc exec returns after that is abandoned.
    private bool _noMoreExecs;
    // The init's exit router, which a Delete of an exited init lets finish first (exit order).
    private Task _initExitRouted = Task.CompletedTask;
    private long _execCounter;
    // Names each terminal runc call's console socket.
    private long _consoleCounter;
    // Read by State without the table lock: a restarted daemon asks while a
    // Create it started before dying may still be running runc create.
    private volatile bool _creating;

    public ShimTask(
        ShimOptions options, RuncContainer runtime, ContainerTeardown teardown, ChildReaper reaper, TaskEvents events, ILoggerFactory loggers)
    {
        _options = options;
        _runtime = runtime;
        _teardown = teardown;
        _reaper = reaper;
        _events = events;
        _logger = loggers.CreateLogger<ShimTask>();
        _processLogger = loggers.CreateLogger<ShimProcess>();
        _ioLogger = loggers.CreateLogger("Containerd.Shim.Io");
        _oomLogger = loggers.CreateLogger<OomWatcher>();
        _mounts = new RootfsMounts(loggers.CreateLogger<RootfsMounts>());
    }

    private string Id => _options.Id;

    private string Name => $"task \"{Id}\"";

    public async Task<int> CreateAsync(ShimCreateRequest request, CancellationToken cancellationToken)
    {
        var bundle = _options.Bundle;
        if (request.Id.Length > 0 && request.Id != Id)
            throw ShimErrors.InvalidArgument($"cannot create task \"{request.Id}\": this shim serves {Name}");
        if (request.Bundle.Length > 0 && Path.TrimEndingDirectorySeparator(Path.GetFullPath(request.Bundle)) != bundle.Directory)
            throw ShimErrors.InvalidArgument($"cannot create {Name}: bundle {request.Bundle} is not this shim's bundle {bundle.Directory}");
        var stdio = request.Stdio ?? new Stdio();
        if (request.Checkpoint.Length > 0 && !Directory.Exists(request.Checkpoint))
            throw ShimErrors.InvalidArgument($"cannot create {Name} from checkpoint {request.Checkpoint}: no such directory");

        await _table.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_init is not null)
                throw ShimErrors.AlreadyExists($"{Name} already exists");

            _creating = true;
            File.Delete(bundle.InitPidFile);
            ProcessIo? io = null;
            var runcCalled = false;
            try
            {
                _mounts.MountAll(request.Rootfs, bundle.RootfsDirectory);
                io = OpenIo(stdio, $"cannot create {Name}");
                InitProcess init;
                if (request.Checkpoint.Length > 0)
                {
                    // As containerd's shim: nothing runs until Start restores it.
                    var restore = new RestoreOptions(bundle.Directory, request.Checkpoint, bundle.RestoreWorkDirectory, bundle.InitPidFile);
                    init = InitProcess.ForRestore(_runtime, restore, stdio, io, _reaper.Watch, _events, _processLogger);
                }
                else
                {
                    runcCalled = true;
                    init = await InitProcess.CreateAsync(_runtime, bundle, stdio, io, _reaper.Watch, _events, _processLogger)
                        .ConfigureAwait(false);
                }
                // Published before the init is visible: a Start cannot overtake its CREATE.
                _events.Created(init);
                // Watched before the init can run (it waits in runc's exec fifo until Start), so no OOM is missed.
                var oom = OomWatcher.TryStart(init.Pid, () => _events.OutOfMemory(init.Pid), _oomLogger);
                lock (_gate)
                {
                    _init = init;
                    _oom = oom;
                    _initExitRouted = RouteInitExitAsync(init);
                }
                return init.Pid;
            }
            catch (Exception e)
            {
                // Leave nothing behind: no runc container, no mount, no fifo held. A
                // container runc refused because the id exists is not ours to remove.
                if (runcCalled && !(e is RuncException { Message: var m } && m.Contains("already exists", StringComparison.Ordinal)))
                    await _teardown.RemoveAsync(strict: false).ConfigureAwait(false);
                io?.Dispose();
                _mounts.UnmountAll();
                File.Delete(bundle.InitPidFile);
                _logger.LogWarning("create failed: {Error}", e.Message);
                throw RuncErrors.ToRpc(e, $"cannot create {Name}");
            }
        }
        finally
        {
            _creating = false;
            _table.Release();
        }
    }

    /// <summary>Starts (or restores) the init; its pid, which a restore has just given it.</summary>
    public async Task<int> StartAsync(CancellationToken cancellationToken)
    {
        var init = RequireInit("start");
        await init.StartAsync(cancellationToken).ConfigureAwait(false);
        return init.Pid;
    }

    public Task CheckpointAsync(CheckpointOptions options, CancellationToken cancellationToken) =>
        RequireInit("checkpoint").CheckpointAsync(options, cancellationToken);

    public Task PauseAsync(CancellationToken cancellationToken) => RequireInit("pause").PauseAsync(cancellationToken);

    public Task ResumeAsync(CancellationToken cancellationToken) => RequireInit("resume").ResumeAsync(cancellationToken);

    public async Task<int> ExecAsync(ByteString specJson, Stdio? stdio, CancellationToken cancellationToken)
    {
        var spec = ExecSpec.TryParse(specJson.Memory, out var problem)
            ?? throw ShimErrors.InvalidArgument($"cannot exec in {Name}: {problem}");
        stdio ??= new Stdio();

        var init = RequireInit("exec in");
        await init.CheckExecAsync(cancellationToken).ConfigureAwait(false);
        var name = "exec-" + Interlocked.Increment(ref _execCounter).ToString(CultureInfo.InvariantCulture);
        var io = OpenIo(stdio, $"cannot exec in {Name}");
        ExecProcess exec;
        try
        {
            // Not cancellable (see the class's remarks on abandoned execs).
            exec = await ExecProcess.StartAsync(_runtime, _options.Bundle, name, specJson, spec, stdio, io, _reaper.Watch, _events, _processLogger)
                .ConfigureAwait(false);
        }
        catch (Exception e)
        {
            io.Dispose();
            throw RuncErrors.ToRpc(e, $"cannot exec in {Name}");
        }

        ExecProcess? stale = null;
        string? abandoned = null;
        lock (_gate)
        {
            if (cancellationToken.IsCancellationRequested)
                abandoned = "its client gave up";
            else if (_noMoreExecs || _init != init || init.State.IsFinished)
                abandoned = $"{Name} stopped meanwhile";
            else
            {
                // Published before the exec is visible or its exit watched: EXIT follows EXEC_ADDED.
                _events.ExecAdded(exec);
                // A pid is unique among live processes; an entry with the same pid is a
                // stopped one nobody deleted, whose pid the kernel has since reused.
                _execs.Remove(exec.Pid, out stale);
                _execs.Add(exec.Pid, exec);
            }
        }
        if (abandoned is not null)
        {
            _logger.LogWarning("killing exec'd process {Pid}: {Reason} while runc exec ran", exec.Pid, abandoned);
            exec.Abandon();
            cancellationToken.ThrowIfCancellationRequested();
            throw ShimErrors.FailedPrecondition($"cannot exec in {Name}: it stopped while the process was being started");
        }
        if (stale is not null)
        {
            _logger.LogWarning("dropping undeleted exited process {Pid}: its pid was reused", stale.Pid);
            await stale.DropAsync().ConfigureAwait(false);
        }
        _ = RouteExitAsync(exec);
        return exec.Pid;
    }

    public async Task KillAsync(uint signal, uint pid, bool all, CancellationToken cancellationToken)
    {
        if (signal is < 1 or > 64)
            throw ShimErrors.InvalidArgument($"cannot kill {(pid == 0 ? Name : $"process {pid} in {Name}")}: signal {signal} is not between 1 and 64");

        var init = pid == 0 ? RequireInit("kill") : CurrentInit;
        if (init is not null && (pid == 0 || pid == (uint)init.Pid))
        {
            await init.KillAsync((int)signal, all, cancellationToken).ConfigureAwait(false);
            return;
        }
        await RequireExec(pid).KillAsync((int)signal, cancellationToken).ConfigureAwait(false);
    }

    public async Task<List<Api.Types.Process>> ProcessesAsync()
    {
        var init = CurrentInit ?? throw ShimErrors.NotFound($"{Name} not found: it was not created");

        List<int>? pids = null;
        if (!init.State.IsFinished)
        {
            try
            {
                pids = await _runtime.ProcessIdsAsync().ConfigureAwait(false);
            }
            catch (RuncException e)
            {
                // It stopped meanwhile (or runc is unhappy): report what the shim knows.
                _logger.LogDebug("runc ps: {Error}", e.Message);
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
                        result.Add(init.ToProcess());
                    else if (_execs.TryGetValue(pid, out var exec) && !exec.State.IsFinished)
                        result.Add(exec.ToProcess(live));
                    else
                        result.Add(new Api.Types.Process { Pid = (uint)pid, Status = live });
                }
            }
            else
            {
                result.Add(init.ToProcess());
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
        var init = CurrentInit;
        if (pid == 0 || (init is not null && pid == (uint)init.Pid))
            (init ?? throw ShimErrors.NotFound($"{Name} not found: it was not created")).CloseStdin();
        else
            RequireExec(pid).CloseStdin();
    }

    /// <summary>ResizePty: pid 0 (or the init's) is the init; a process without a terminal is FailedPrecondition.</summary>
    public void ResizePty(uint pid, uint width, uint height)
    {
        var size = WindowSize.TryCreate(width, height, out var problem)
            ?? throw ShimErrors.InvalidArgument($"cannot resize the terminal of {(pid == 0 ? Name : $"process {pid} in {Name}")}: {problem}");
        var init = CurrentInit;
        ShimProcess process = pid == 0 || (init is not null && pid == (uint)init.Pid)
            ? init ?? throw ShimErrors.NotFound($"{Name} not found: it was not created")
            : RequireExec(pid);
        process.ResizePty(size);
    }

    /// <summary>ReopenLog: pid 0 (or the init's) is the init; see <see cref="ShimProcess.ReopenLog"/>.</summary>
    public void ReopenLog(uint pid)
    {
        var init = CurrentInit;
        ShimProcess process = pid == 0 || (init is not null && pid == (uint)init.Pid)
            ? init ?? throw ShimErrors.NotFound($"{Name} not found: it was not created")
            : RequireExec(pid);
        process.ReopenLog();
    }

    public async Task<ShimDeleteResponse> DeleteAsync(CancellationToken cancellationToken)
    {
        await _table.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var init = RequireInit("delete");
            Task routed;
            lock (_gate)
                routed = _initExitRouted;
            // An init reaped but not yet recorded waits for its execs' exits (exit
            // order); let its router finish rather than record the exit here first.
            if (init.Reaped.IsCompleted)
                await WaitForExitRoutingAsync(routed, cancellationToken).ConfigureAwait(false);
            await init.DeleteAsync(this, cancellationToken).ConfigureAwait(false);
            _logger.LogInformation("deleted task (exit status {ExitStatus})", init.ExitStatus);
            return init.ToDeleteReply();
        }
        finally
        {
            _table.Release();
        }
    }

    public async Task<ShimDeleteResponse> DeleteProcessAsync(uint pid, CancellationToken cancellationToken)
    {
        var init = CurrentInit;
        if (pid == 0 || (init is not null && pid == (uint)init.Pid))
            throw ShimErrors.InvalidArgument($"cannot delete process {pid} in {Name}: it is the init process, use Delete for the init process");

        await _table.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var exec = RequireExec(pid);
            await exec.DeleteAsync(cancellationToken).ConfigureAwait(false);
            lock (_gate)
            {
                _execs.Remove(exec.Pid);
                if (_execs.Count == 0)
                    _execs.TrimExcess();
            }
            return exec.ToDeleteReply();
        }
        finally
        {
            _table.Release();
        }
    }

    public ShimStateResponse State()
    {
        lock (_gate)
        {
            var response = new ShimStateResponse
            {
                Id = Id, Bundle = _options.Bundle.Directory, Namespace = _options.Namespace, Creating = _creating,
            };
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
    /// Refused while the task exists unless forced; forced, the task is removed
    /// by the same teardown as Delete. The caller then stops the shim.
    /// </summary>
    public async Task ShutdownAsync(bool force, CancellationToken cancellationToken)
    {
        await _table.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var init = CurrentInit;
            if (init is null || init.State is InitDeletedState)
                return;
            if (!force)
                throw ShimErrors.FailedPrecondition($"cannot shut down the shim of {Name}: the task is {init.State.Name}, delete it first (or force)");

            _logger.LogWarning("forced shutdown: removing the task");
            await init.ForceDeleteAsync(this, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _table.Release();
        }
    }

    /// <summary>
    /// The teardown the init runs from its delete (under the table lock and the
    /// init's lock): the container and its mounts go, then every exec (dead with
    /// the pid namespace) has its exit recorded and is dropped from the table.
    /// </summary>
    async Task IContainerTeardown.RemoveContainerAsync(bool strict)
    {
        try
        {
            await _teardown.RemoveAsync(strict).ConfigureAwait(false);
        }
        catch (RuncException e)
        {
            throw RuncErrors.ToRpc(e, $"cannot delete {Name}");
        }
        _mounts.Forget();

        List<ExecProcess> execs;
        OomWatcher? oom;
        lock (_gate)
        {
            oom = _oom;
            _oom = null;
            _noMoreExecs = true;
            execs = [.. _execs.Values];
            _execs.Clear();
            _execs.TrimExcess();
        }
        // The cgroup is gone with the container (its removal woke the watcher, which stopped quietly).
        oom?.Dispose();
        foreach (var exec in execs)
        {
            if (!await exec.FinishWithTaskAsync().ConfigureAwait(false))
                _logger.LogWarning("process {Pid} was not reaped", exec.Pid);
        }
    }

    /// <summary>
    /// The init's exit router: once it is reaped and its output copied, no
    /// exec is added any more, the live execs are killed and their exits
    /// recorded first, then the init's.
    /// </summary>
    private async Task RouteInitExitAsync(InitProcess init)
    {
        try
        {
            var exit = await init.ReapedWithOutputAsync().ConfigureAwait(false);
            // An OOM kill is reported before its victim dies: publish it before the EXITs it caused.
            FlushOom();
            List<ExecProcess> execs;
            lock (_gate)
            {
                _noMoreExecs = true;
                execs = [.. _execs.Values];
            }
            await InitExitOrder.RecordAsync(init, exit, execs, InitExitOrder.ExecWait, _logger).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            _logger.LogError("handling the exit of the init {Pid} failed: {Error}", init.Pid, e.Message);
        }
    }

    /// <summary>An exec's exit router: applies its exit once it is reaped and its output is copied.</summary>
    private async Task RouteExitAsync(ExecProcess process)
    {
        try
        {
            var exit = await process.ReapedWithOutputAsync().ConfigureAwait(false);
            FlushOom();
            process.RecordExit(exit);
        }
        catch (Exception e)
        {
            _logger.LogError("handling the exit of {Pid} failed: {Error}", process.Pid, e.Message);
        }
    }

    /// <summary>Publishes a pending OOM first: a process the kernel killed for memory has its OOM before its EXIT.</summary>
    private void FlushOom()
    {
        OomWatcher? oom;
        lock (_gate)
            oom = _oom;
        oom?.Flush();
    }

    private async Task WaitForExitRoutingAsync(Task routed, CancellationToken cancellationToken)
    {
        try
        {
            await routed.WaitAsync(InitExitOrder.ExecWait + ShimProcess.OutputWait, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Bounded by the router's own waits; should it still hang, Delete records the exit itself.
            _logger.LogWarning("the init's exit is still being routed; deleting anyway");
        }
    }

    private InitProcess? CurrentInit
    {
        get
        {
            lock (_gate)
                return _init;
        }
    }

    private InitProcess RequireInit(string verb) =>
        CurrentInit ?? throw ShimErrors.NotFound($"cannot {verb} {Name}: it was not created");

    private ExecProcess RequireExec(uint pid)
    {
        lock (_gate)
        {
            return _execs.TryGetValue((int)pid, out var exec)
                ? exec
                : throw ShimErrors.NotFound($"process {pid} not found in container \"{Id}\"");
        }
    }

    /// <summary>What a live process in the container is: paused with the container, else running.</summary>
    private static Status LiveStatus(InitProcess init) => init.State switch
    {
        InitPausedState => Status.Paused,
        { IsFinished: true } => Status.Stopped,
        _ => Status.Running,
    };

    private ProcessIo OpenIo(Stdio stdio, string context)
    {
        try
        {
            var console = stdio.Terminal
                ? _options.Bundle.ConsoleSocketFile(Interlocked.Increment(ref _consoleCounter))
                : null;
            return ProcessIo.Open(stdio, _ioLogger, console);
        }
        catch (ConsoleSocketException e)
        {
            throw ShimErrors.Internal($"{context}: {e.Message}");
        }
        catch (IOException e)
        {
            throw ShimErrors.InvalidArgument($"{context}: {e.Message}");
        }
    }
}
