using Containerd.Api.Shim;
using Containerd.Daemon.Containers;
using Containerd.Daemon.Events;
using Containerd.Daemon.Hosting;
using Containerd.Daemon.Images;
using Containerd.Daemon.Metadata;
using Containerd.Daemon.Shims;
using Containerd.Shared.Bundles;
using Containerd.Shared.Tasks;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using ExecutionApi = Containerd.Api.Execution;
using Types = Containerd.Api.Types;

namespace Containerd.Daemon.Tasks;

/// <summary>
/// Creates and deletes tasks: bundle, shim, registration. Both run under the
/// container's lock, and a failed Create leaves nothing behind (no shim, no
/// mount, no bundle directory); a daemon killed inside a Create leaves what
/// start-up recovery turns into a task again or removes. When a task's shim
/// dies, the task is buried: what its container left is removed, the init's
/// EXIT (and that of every exec it still ran) published, and the
/// <see cref="LiveTask"/> replaced by a <see cref="StoppedTask"/> until Delete.
/// The bundle stays until then, holding the tombstone, so a restarted daemon
/// still answers for the task.
/// </summary>
public sealed class TaskLifecycle(
    ContainerStore containers,
    ContainerLocks locks,
    TaskRegistry registry,
    RuntimeResolver runtimes,
    ShimManager shims,
    StateLayout layout,
    EventExchange exchange,
    CrashPoints crashPoints,
    TombstoneStore tombstones,
    ShimLogWatch shimLogWatch,
    TaskCheckpoints checkpoints,
    ILoggerFactory loggerFactory,
    DaemonOptions options,
    ContainerSnapshots snapshots)
{
    private const UnixFileMode PrivateDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    private readonly ILogger _logger = loggerFactory.CreateLogger<TaskLifecycle>();

    public async Task<uint> CreateAsync(string @namespace, ExecutionApi.CreateRequest request, CancellationToken cancellationToken)
    {
        var id = RequestNamespace.ValidId(request.ContainerId);
        if (CriLogTarget.Check(request.Stdin, request.Stdout, request.Stderr) is { } stdioProblem)
            throw RpcErrors.InvalidArgument($"cannot create task \"{id}\": {stdioProblem}");
        // Judged before anything is made: a bad checkpoint leaves no bundle and no shim.
        var checkpoint = request.Checkpoint;
        if (checkpoint is not null)
            checkpoints.RequireRestorable(checkpoint, id);

        using var held = await locks.AcquireAsync(@namespace, id, cancellationToken).ConfigureAwait(false);
        // A Delete of this id answered before its shim and bundle were gone: let that finish first.
        await shims.WaitForTeardownAsync(@namespace, id, cancellationToken).ConfigureAwait(false);
        if (registry.Contains(@namespace, id))
            throw RpcErrors.AlreadyExists($"task \"{id}\" already exists in namespace \"{@namespace}\"");
        var container = await containers.GetAsync(@namespace, id, cancellationToken).ConfigureAwait(false)
            ?? throw RpcErrors.ContainerNotFound(@namespace, id);
        var runtime = runtimes.Resolve(container.Runtime, id);

        var bundle = layout.Bundle(@namespace, id);
        if (Directory.Exists(bundle.Directory))
        {
            // Not registered, so nothing owns it: a leftover of a crash. Make room.
            _logger.LogWarning("removing leftover bundle {Namespace} {ContainerId}", @namespace, id);
            await shims.CleanupAsync(@namespace, id, deleteContainer: true, findStrayShims: true, CancellationToken.None)
                .ConfigureAwait(false);
        }

        ShimConnection? shim = null;
        try
        {
            Directory.CreateDirectory(bundle.Directory, PrivateDirectory);
            Directory.CreateDirectory(layout.RuntimeRoot(@namespace), PrivateDirectory);
            AtomicFile.Write(bundle.ConfigFile, BundleConfig.For(container.Spec.Value.Span, @namespace, id));
            bundle.WriteRuntime(runtime);
            if (checkpoint is not null)
                await checkpoints.UnpackForRestoreAsync(checkpoint, bundle, id, cancellationToken).ConfigureAwait(false);
            await crashPoints.ReachedAsync(CrashPoints.BundleWritten, cancellationToken).ConfigureAwait(false);

            shim = await shims.StartAsync(@namespace, id, runtime, cancellationToken).ConfigureAwait(false);
            await crashPoints.ReachedAsync(CrashPoints.ShimStarted, cancellationToken).ConfigureAwait(false);
            var stdio = new Stdio { Stdin = request.Stdin, Stdout = request.Stdout, Stderr = request.Stderr, Terminal = request.Terminal };
            var shimRequest = new ShimCreateRequest
            {
                Id = id, Bundle = bundle.Directory, Stdio = stdio, Checkpoint = checkpoint is null ? "" : bundle.RestoreImageDirectory,
            };
            // A container made from an image has its rootfs in its snapshot; explicit mounts still win.
            if (request.Rootfs.Count == 0 && ContainerSnapshots.Wants(container))
                shimRequest.Rootfs.Add(snapshots.Mounts(@namespace, id));
            else
                shimRequest.Rootfs.Add(request.Rootfs);
            var create = shim.CallAsync((c, o) => c.CreateAsync(shimRequest, o), cancellationToken);
            await crashPoints.WhileRuntimeCreatesAsync(Path.Combine(layout.RuntimeRoot(@namespace), id), create).ConfigureAwait(false);
            var created = await create.ConfigureAwait(false);
            await crashPoints.ReachedAsync(CrashPoints.ShimCreated, cancellationToken).ConfigureAwait(false);

            Attach(shim, created.Pid, stdio, logFromStart: true);
            _logger.LogInformation("task created {Namespace} {ContainerId} {Pid}", @namespace, id, created.Pid);
            return created.Pid;
        }
        catch (Exception e)
        {
            _logger.LogWarning("task create failed {Namespace} {ContainerId}: {Error}", @namespace, id,
                e is RpcException rpc ? rpc.Status.Detail : e.Message);
            if (shim is not null)
                await shims.StopAsync(shim, force: true).ConfigureAwait(false);
            await shims.CleanupAsync(@namespace, id, deleteContainer: true, findStrayShims: false, CancellationToken.None)
                .ConfigureAwait(false);
            if (e is IOException or UnauthorizedAccessException)
                throw RpcErrors.Internal($"task \"{id}\": cannot prepare bundle {bundle.Directory}: {e.Message}");
            throw;
        }
    }

    public async Task<ExecutionApi.DeleteResponse> DeleteAsync(string @namespace, string id, CancellationToken cancellationToken)
    {
        using var held = await locks.AcquireAsync(@namespace, id, cancellationToken).ConfigureAwait(false);
        if (!registry.TryGet(@namespace, id, out var task))
            throw RpcErrors.TaskNotFound(@namespace, id);

        if (task is LiveTask { Shim.Process.HasExited: true } dead)
            task = await BuryAsync(dead).ConfigureAwait(false);
        if (task is StoppedTask stopped)
        {
            // The shim died earlier; everything it held is already gone but the bundle and its tombstone.
            tombstones.Remove(@namespace, id);
            registry.TryRemove(@namespace, id, out _);
            _logger.LogInformation("task deleted {Namespace} {ContainerId} {Pid} exit {ExitStatus} (its shim had died)",
                @namespace, id, stopped.InitPid, stopped.Tombstone.ExitStatus);
            return DeletedReply(stopped);
        }

        var live = (LiveTask)task;
        ShimDeleteResponse deleted;
        try
        {
            // FailedPrecondition for a running or paused task comes from the shim.
            deleted = await live.Shim.CallAsync((c, o) => c.DeleteAsync(new Empty(), o), cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable && live.Shim.Process.HasExited)
        {
            // The shim died under the call: answer as for a task whose shim had died before.
            var lost = await BuryAsync(live).ConfigureAwait(false);
            tombstones.Remove(@namespace, id);
            registry.TryRemove(@namespace, id, out _);
            return DeletedReply(lost);
        }

        // The task is gone in the shim: finish regardless of the caller's cancellation. The
        // shim's shutdown, its exit and the bundle's removal go on in the background; a
        // Create of this id waits for them (ShimManager tracks the teardown).
        registry.TryRemove(@namespace, id, out _);
        live.Events.ExpectEnd();
        _ = shims.BeginTeardown(@namespace, id, () => TearDownAsync(live));
        // Answer after the task's EXIT is out, as before: normally it already is.
        await live.Events.WaitForInitExitAsync(options.Timeouts.EventDrain).ConfigureAwait(false);

        _logger.LogInformation("task deleted {Namespace} {ContainerId} {Pid} exit {ExitStatus}",
            @namespace, id, deleted.Pid, deleted.ExitStatus);
        return new ExecutionApi.DeleteResponse
        {
            ContainerId = id,
            ExitStatus = deleted.ExitStatus,
            ExitedAt = deleted.ExitedAt,
        };
    }

    /// <summary>
    /// What Delete leaves to the background once the shim deleted the task: the
    /// shim's Shutdown and exit, the rest of its event stream, its log, and the
    /// bundle (the shim deleted the container itself).
    /// </summary>
    private async Task TearDownAsync(LiveTask live)
    {
        await shims.StopAsync(live.Shim, force: false).ConfigureAwait(false);
        await live.Events.DrainAsync(options.Timeouts.EventDrain).ConfigureAwait(false);
        await live.Events.DisposeAsync().ConfigureAwait(false);
        live.Shim.Dispose();
        // The shim has exited: its last lines ("deleted", "stopped") are in the log now.
        await StopShimLogAsync(live).ConfigureAwait(false);
        crashPoints.At(CrashPoints.TeardownShimExited);
        await shims.CleanupAsync(live.Namespace, live.Id, deleteContainer: false, findStrayShims: false, CancellationToken.None)
            .ConfigureAwait(false);
    }

    /// <summary>
    /// Registers a task whose shim holds a created init process and starts its
    /// event pump (resuming after BUNDLE/events.seq) and the follower of its
    /// shim's log. Used by Create and by start-up recovery alike.
    /// </summary>
    /// <param name="execs">The exec'd processes the shim reported (a re-attached task); none for a new one.</param>
    /// <param name="logFromStart">
    /// Forward the shim's log from its first line (a task this daemon created);
    /// otherwise from its end, so a restarted daemon does not log old lines again.
    /// </param>
    public LiveTask Attach(
        ShimConnection shim, uint initPid, Stdio stdio, IEnumerable<ProcessState>? execs = null, bool logFromStart = false)
    {
        LiveTask? task = null;
        var known = new KnownExecs();
        if (execs is not null)
            known.Seed(execs);
        var pump = new EventPump(shim, initPid, exchange, loggerFactory.CreateLogger<EventPump>(),
            shimLost: () => OnShimLostAsync(task!), ackInterval: options.Timeouts.EventAckInterval,
            observed: evt => known.Observe(evt, task!.InitPid));
        var shimLog = new ShimLogFollower(shim.Bundle.ShimLogFile, shim.Namespace, shim.Id,
            loggerFactory.CreateLogger(ShimLogFollower.Category), logFromStart, watch: shimLogWatch);
        task = new LiveTask(initPid, stdio, shim, pump, known) { ShimLog = shimLog };
        if (!registry.TryAdd(task))
            throw RpcErrors.AlreadyExists($"task \"{shim.Id}\" already exists in namespace \"{shim.Namespace}\"");
        pump.Start();
        shimLog.Start();
        return task;
    }

    /// <summary>
    /// Registers a task found at start-up whose shim had died while the daemon
    /// was away and whose container the cleanup (<paramref name="deleted"/>)
    /// just removed, as a stopped task: its tombstone written, its EXIT
    /// published (kept for the namespace's first subscriber), deletable with
    /// the status it ended with.
    /// </summary>
    public void RegisterLost(string @namespace, string id, uint initPid, ShimDeleteResult deleted)
    {
        var tombstone = TaskTombstone.Of(initExit: null, deleted, DateTime.UtcNow);
        var stopped = tombstones.Entomb(@namespace, id, initPid, new Stdio(), tombstone);
        if (!registry.TryAdd(stopped))
            throw RpcErrors.AlreadyExists($"task \"{id}\" already exists in namespace \"{@namespace}\"");
        PublishInitExit(stopped);
        _logger.LogWarning("shim of {Namespace} {ContainerId} died while the daemon was away; init {Pid} exit {ExitStatus} (runtime said {RuntimeStatus})",
            @namespace, id, initPid, tombstone.ExitStatus, deleted.RuntimeStatus);
    }

    /// <summary>
    /// Registers a task an earlier daemon buried (its bundle holds a
    /// tombstone) as the stopped task it was. Its EXITs were published then.
    /// </summary>
    public void RegisterBuried(string @namespace, string id, BuriedTask buried)
    {
        var stopped = tombstones.Restore(@namespace, id, buried);
        if (!registry.TryAdd(stopped))
            throw RpcErrors.AlreadyExists($"task \"{id}\" already exists in namespace \"{@namespace}\"");
        _logger.LogInformation("stopped task {Namespace} {ContainerId} {Pid} exit {ExitStatus} restored from its tombstone",
            @namespace, id, buried.InitPid, buried.Tombstone.ExitStatus);
    }

    /// <summary>
    /// The task as it is now (call before answering for it): a live task whose
    /// shim has exited is buried first, so a client asking right after a shim
    /// died gets the stopped task's answers, not an error, even if the event
    /// pump has not noticed yet.
    /// </summary>
    public async Task<ITask> RefreshAsync(ITask task, CancellationToken cancellationToken)
    {
        if (task is not LiveTask { Shim.Process.HasExited: true } live)
            return task;
        using var held = await locks.AcquireAsync(live.Namespace, live.Id, cancellationToken).ConfigureAwait(false);
        if (!registry.TryGet(live.Namespace, live.Id, out var current))
            return task;
        return ReferenceEquals(current, live) ? await BuryAsync(live).ConfigureAwait(false) : current;
    }

    /// <summary>Stops every event pump (daemon shutdown); the shims and their containers keep running.</summary>
    public async Task DetachAllAsync()
    {
        await Task.WhenAll(registry.All().OfType<LiveTask>().Select(async task =>
        {
            await task.Events.DisposeAsync().ConfigureAwait(false);
            task.Shim.Dispose();
            await StopShimLogAsync(task).ConfigureAwait(false);
        })).ConfigureAwait(false);
    }

    /// <summary>Forwards what is left of the shim's log and stops following it; the bundle may go after this.</summary>
    private static async Task StopShimLogAsync(LiveTask task)
    {
        if (task.ShimLog is { } shimLog)
            await shimLog.StopAsync().ConfigureAwait(false);
    }

    private async Task OnShimLostAsync(LiveTask task)
    {
        try
        {
            await RefreshAsync(task, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            _logger.LogError("cleanup after the shim of {Namespace} {ContainerId} died failed: {Error}", task.Namespace, task.Id, e.Message);
        }
    }

    /// <summary>
    /// Under the container's lock, for a registered live task whose shim is
    /// gone: removes what the container left (the shim's delete command: a
    /// shim's death does not stop its container) and the socket, writes the
    /// tombstone into the bundle (kept until Delete), publishes the EXIT of
    /// every exec that was running and the init's unless the shim already
    /// did, and replaces the task with a stopped one.
    /// </summary>
    private async Task<StoppedTask> BuryAsync(LiveTask task)
    {
        var seen = task.Events.InitExit;
        task.Events.ExpectEnd();
        await task.Events.DisposeAsync().ConfigureAwait(false);
        // After the pump stopped: nothing changes the table any more.
        var execs = task.Execs.Snapshot();
        ShimDeleteResult? deleted = null;
        try
        {
            deleted = await shims.DeleteContainerAsync(task.Namespace, task.Id, findStrayShims: true, CancellationToken.None)
                .ConfigureAwait(false);
        }
        catch (Exception e) when (e is RpcException or IOException or UnauthorizedAccessException)
        {
            _logger.LogError("cleanup of {Namespace} {ContainerId} after its shim died failed: {Error}", task.Namespace, task.Id,
                e is RpcException rpc ? rpc.Status.Detail : e.Message);
        }
        // After the shim's delete command, which logs to the same file; the task stops being live here.
        await StopShimLogAsync(task).ConfigureAwait(false);

        var tombstone = TaskTombstone.Of(seen, execs, deleted, DateTime.UtcNow);
        var stopped = tombstones.Entomb(task.Namespace, task.Id, task.InitPid, task.Stdio, tombstone);
        // Only the execs whose exit nobody saw: the others' EXITs came from the shim.
        foreach (var (pid, _) in execs.Where(e => e.Value is null))
        {
            var exec = tombstone.Exec(pid)!;
            PublishExit(stopped.Namespace, stopped.Id, exec.Pid, exec.ExitStatus, exec.ExitedAt);
        }
        if (seen is null)
            PublishInitExit(stopped);
        registry.TryReplace(task, stopped);
        // Only now: a call that found the task before it was buried may still be using the channel.
        task.Shim.Dispose();
        _logger.LogWarning("shim of {Namespace} {ContainerId} died; task removed, init {Pid} exit {ExitStatus} (runtime said {RuntimeStatus})",
            task.Namespace, task.Id, task.InitPid, stopped.Tombstone.ExitStatus,
            deleted?.RuntimeStatus ?? (deleted is null ? "nothing: cleanup failed" : "no container"));
        return stopped;
    }

    private void PublishExit(string @namespace, string id, uint pid, uint exitStatus, Timestamp exitedAt) =>
        exchange.Publish(@namespace, new Types.Event
        {
            Id = id,
            Type = Types.Event.Types.EventType.Exit,
            Pid = pid,
            ExitStatus = exitStatus,
            ExitedAt = exitedAt,
        });

    /// <summary>The init's EXIT as the daemon learned it, for a shim that died before it could publish one.</summary>
    private void PublishInitExit(StoppedTask task) =>
        PublishExit(task.Namespace, task.Id, task.InitPid, task.Tombstone.ExitStatus, task.Tombstone.ExitedAt);

    private static ExecutionApi.DeleteResponse DeletedReply(StoppedTask task) => new()
    {
        ContainerId = task.Id,
        ExitStatus = task.Tombstone.ExitStatus,
        ExitedAt = task.Tombstone.ExitedAt,
    };
}
