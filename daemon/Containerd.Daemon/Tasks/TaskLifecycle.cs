using Containerd.Api.Shim;
using Containerd.Daemon.Containers;
using Containerd.Daemon.Events;
using Containerd.Daemon.Hosting;
using Containerd.Daemon.Metadata;
using Containerd.Daemon.Shims;
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
/// EXIT published, and a stopped record kept until Delete.
/// </summary>
public sealed class TaskLifecycle(
    ContainerStore containers,
    ContainerLocks locks,
    TaskRegistry registry,
    RuntimeResolver runtimes,
    ShimLauncher launcher,
    BundleCleaner cleaner,
    StateLayout layout,
    EventExchange exchange,
    CrashPoints crashPoints,
    ILoggerFactory loggerFactory)
{
    public const string CriuCheckpointMediaType = "application/vnd.containerd.container.criu.checkpoint.criu.tar";

    private const UnixFileMode PrivateDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private static readonly TimeSpan ShimExitTimeout = TimeSpan.FromSeconds(5);
    // What runc reports for a container it can still kill; its init then dies of our SIGKILL.
    private static readonly string[] KillableStatuses = ["created", "running", "paused", "pausing"];

    private readonly ILogger _logger = loggerFactory.CreateLogger<TaskLifecycle>();

    public async Task<uint> CreateAsync(string @namespace, ExecutionApi.CreateRequest request, CancellationToken cancellationToken)
    {
        var id = RequestNamespace.ValidId(request.ContainerId);
        if (request.Terminal)
            throw RpcErrors.Unimplemented("terminal (pty) support is not implemented yet");
        if (request.Checkpoint is { } checkpoint)
        {
            if (checkpoint.MediaType != CriuCheckpointMediaType)
                throw RpcErrors.InvalidArgument(
                    $"checkpoint of task \"{id}\" has media type \"{checkpoint.MediaType}\"; only {CriuCheckpointMediaType} can be restored");
            throw RpcErrors.Unimplemented($"restoring task \"{id}\" from a checkpoint is not implemented yet");
        }

        using var held = await locks.AcquireAsync(@namespace, id, cancellationToken).ConfigureAwait(false);
        if (registry.Contains(@namespace, id))
            throw RpcErrors.AlreadyExists($"task \"{id}\" already exists in namespace \"{@namespace}\"");
        var container = await containers.GetAsync(@namespace, id, cancellationToken).ConfigureAwait(false)
            ?? throw RpcErrors.ContainerNotFound(@namespace, id);
        var runtime = runtimes.Resolve(container.Runtime, id);

        var bundle = layout.Bundle(@namespace, id);
        if (Directory.Exists(bundle))
        {
            // Not registered, so nothing owns it: a leftover of a crash. Make room.
            _logger.LogWarning("removing leftover bundle {Namespace} {ContainerId}", @namespace, id);
            await cleaner.CleanupAsync(@namespace, id, forceRuntimeDelete: true, findStrayShims: true).ConfigureAwait(false);
        }

        ShimConnection? shim = null;
        try
        {
            Directory.CreateDirectory(bundle, PrivateDirectory);
            Directory.CreateDirectory(layout.RuntimeRoot(@namespace), PrivateDirectory);
            await File.WriteAllBytesAsync(Path.Combine(bundle, StateLayout.ConfigFile), container.Spec.Value.ToByteArray(), cancellationToken)
                .ConfigureAwait(false);
            await File.WriteAllTextAsync(Path.Combine(bundle, StateLayout.RuntimeFile), runtime, cancellationToken).ConfigureAwait(false);
            crashPoints.At(CrashPoints.BundleWritten);

            shim = await launcher.StartAsync(@namespace, id, runtime, cancellationToken).ConfigureAwait(false);
            crashPoints.At(CrashPoints.ShimStarted);
            var stdio = new Stdio { Stdin = request.Stdin, Stdout = request.Stdout, Stderr = request.Stderr, Terminal = request.Terminal };
            var shimRequest = new ShimCreateRequest { Id = id, Bundle = bundle, Stdio = stdio };
            shimRequest.Rootfs.Add(request.Rootfs);
            var create = shim.CallAsync((c, o) => c.CreateAsync(shimRequest, o), cancellationToken);
            await crashPoints.WhileRuntimeCreatesAsync(Path.Combine(layout.RuntimeRoot(@namespace), id), create).ConfigureAwait(false);
            var created = await create.ConfigureAwait(false);
            crashPoints.At(CrashPoints.ShimCreated);

            Attach(shim, created.Pid, stdio);
            _logger.LogInformation("task created {Namespace} {ContainerId} {Pid}", @namespace, id, created.Pid);
            return created.Pid;
        }
        catch (Exception e)
        {
            _logger.LogWarning("task create failed {Namespace} {ContainerId}: {Error}", @namespace, id,
                e is RpcException rpc ? rpc.Status.Detail : e.Message);
            if (shim is not null)
                await StopShimAsync(shim, force: true).ConfigureAwait(false);
            await cleaner.CleanupAsync(@namespace, id, forceRuntimeDelete: true).ConfigureAwait(false);
            if (e is IOException or UnauthorizedAccessException)
                throw RpcErrors.Internal($"task \"{id}\": cannot prepare bundle {bundle}: {e.Message}");
            throw;
        }
    }

    public async Task<ExecutionApi.DeleteResponse> DeleteAsync(string @namespace, string id, CancellationToken cancellationToken)
    {
        using var held = await locks.AcquireAsync(@namespace, id, cancellationToken).ConfigureAwait(false);
        if (!registry.TryGet(@namespace, id, out var task))
            throw RpcErrors.TaskNotFound(@namespace, id);

        if (task.Tombstone is null && task.Shim.Process.HasExited)
            await BuryAsync(task).ConfigureAwait(false);
        if (task.Tombstone is { } buried)
        {
            // The shim died earlier; everything it held is already gone.
            registry.TryRemove(@namespace, id, out _);
            _logger.LogInformation("task deleted {Namespace} {ContainerId} {Pid} exit {ExitStatus} (its shim had died)",
                @namespace, id, task.InitPid, buried.ExitStatus);
            return new ExecutionApi.DeleteResponse { ContainerId = id, ExitStatus = buried.ExitStatus, ExitedAt = buried.ExitedAt };
        }

        ShimDeleteResponse deleted;
        try
        {
            // FailedPrecondition for a running or paused task comes from the shim.
            deleted = await task.Shim.CallAsync((c, o) => c.DeleteAsync(new Empty(), o), cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable && task.Shim.Process.HasExited)
        {
            // The shim died under the call: answer as for a task whose shim had died before.
            await BuryAsync(task).ConfigureAwait(false);
            registry.TryRemove(@namespace, id, out _);
            var lost = task.Tombstone!;
            return new ExecutionApi.DeleteResponse { ContainerId = id, ExitStatus = lost.ExitStatus, ExitedAt = lost.ExitedAt };
        }

        // The task is gone in the shim: finish regardless of the caller's cancellation.
        registry.TryRemove(@namespace, id, out _);
        task.Events.ExpectEnd();
        await StopShimAsync(task.Shim, force: false).ConfigureAwait(false);
        await task.Events.DrainAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        await task.Events.DisposeAsync().ConfigureAwait(false);
        task.Shim.Dispose();
        await cleaner.CleanupAsync(@namespace, id, forceRuntimeDelete: false).ConfigureAwait(false);

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
    /// Registers a task whose shim holds a created init process and starts its
    /// event pump (resuming after BUNDLE/events.seq). Used by Create and by
    /// start-up recovery alike.
    /// </summary>
    public RunningTask Attach(ShimConnection shim, uint initPid, Stdio stdio)
    {
        RunningTask? task = null;
        var pump = new EventPump(shim, initPid, exchange, loggerFactory.CreateLogger<EventPump>(),
            shimLost: () => OnShimLostAsync(task!));
        task = new RunningTask(shim.Namespace, shim.Id, initPid, stdio, shim, pump);
        if (!registry.TryAdd(task))
            throw RpcErrors.AlreadyExists($"task \"{shim.Id}\" already exists in namespace \"{shim.Namespace}\"");
        pump.Start();
        return task;
    }

    /// <summary>
    /// Registers a task found at start-up whose shim had died while the daemon
    /// was away, as a tombstone: cleaned up, its EXIT published (kept for the
    /// namespace's first subscriber), deletable with the status it ended with.
    /// </summary>
    public async Task RegisterLostAsync(ShimConnection shim, uint initPid, Stdio stdio)
    {
        var pump = new EventPump(shim, initPid, exchange, loggerFactory.CreateLogger<EventPump>());
        var task = new RunningTask(shim.Namespace, shim.Id, initPid, stdio, shim, pump);
        if (!registry.TryAdd(task))
            throw RpcErrors.AlreadyExists($"task \"{shim.Id}\" already exists in namespace \"{shim.Namespace}\"");
        await BuryAsync(task).ConfigureAwait(false);
    }

    /// <summary>
    /// Makes sure a task whose shim has exited is buried (call before describing
    /// it): a client asking right after a shim died sees the tombstone, not an
    /// error, even if the event pump has not noticed yet.
    /// </summary>
    public async Task RefreshAsync(RunningTask task, CancellationToken cancellationToken)
    {
        if (task.Tombstone is not null || !task.Shim.Process.HasExited)
            return;
        using var held = await locks.AcquireAsync(task.Namespace, task.Id, cancellationToken).ConfigureAwait(false);
        if (task.Tombstone is null && registry.TryGet(task.Namespace, task.Id, out var current) && ReferenceEquals(current, task))
            await BuryAsync(task).ConfigureAwait(false);
    }

    private async Task OnShimLostAsync(RunningTask task)
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
    /// Under the container's lock, for a task whose shim is gone: kills and
    /// removes what the container left (runc delete --force: a shim's death
    /// does not stop its container), unmounts and removes the bundle and
    /// socket, publishes the init's EXIT unless the shim already did, and
    /// leaves the task as a tombstone.
    /// </summary>
    private async Task BuryAsync(RunningTask task)
    {
        if (task.Tombstone is not null)
            return;
        var seen = task.Events.InitExit;
        // Asked before the cleanup kills it: was the container still alive?
        var runtimeStatus = seen is null ? await cleaner.RuntimeStatusAsync(task.Namespace, task.Id).ConfigureAwait(false) : null;

        task.Events.ExpectEnd();
        await task.Events.DisposeAsync().ConfigureAwait(false);
        try
        {
            await cleaner.CleanupAsync(task.Namespace, task.Id, forceRuntimeDelete: true, findStrayShims: true).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RpcException or IOException or UnauthorizedAccessException)
        {
            _logger.LogError("cleanup of {Namespace} {ContainerId} after its shim died failed: {Error}", task.Namespace, task.Id,
                e is RpcException rpc ? rpc.Status.Detail : e.Message);
        }

        TaskTombstone tombstone;
        if (seen is not null)
        {
            tombstone = new TaskTombstone(seen.ExitStatus, seen.ExitedAt ?? Timestamp.FromDateTime(DateTime.UtcNow));
        }
        else
        {
            // 137 = 128 + SIGKILL, which runc delete --force just sent; 255 when the
            // init had already ended unseen and nobody can tell its status any more.
            var killed = runtimeStatus is not null && KillableStatuses.Contains(runtimeStatus);
            tombstone = new TaskTombstone(killed ? 137u : 255u, Timestamp.FromDateTime(DateTime.UtcNow));
            exchange.Publish(task.Namespace, new Types.Event
            {
                Id = task.Id,
                Type = Types.Event.Types.EventType.Exit,
                Pid = task.InitPid,
                ExitStatus = tombstone.ExitStatus,
                ExitedAt = tombstone.ExitedAt,
            });
        }
        task.Bury(tombstone);
        // Only now: a call that found the task before it was buried may still be using the channel.
        task.Shim.Dispose();
        _logger.LogWarning("shim of {Namespace} {ContainerId} died; task removed, init {Pid} exit {ExitStatus} (runtime said {RuntimeStatus})",
            task.Namespace, task.Id, task.InitPid, tombstone.ExitStatus, runtimeStatus ?? (seen is null ? "no container" : "not asked"));
    }

    /// <summary>Asks the shim to exit, waits a bounded time, then kills it.</summary>
    public async Task StopShimAsync(ShimConnection shim, bool force)
    {
        if (!shim.Process.HasExited)
        {
            try
            {
                await shim.CallAsync((c, o) => c.ShutdownAsync(new ShimShutdownRequest { Force = force }, o),
                    CancellationToken.None, TimeSpan.FromSeconds(3)).ConfigureAwait(false);
            }
            catch (RpcException e) when (!force && e.StatusCode != StatusCode.Unavailable)
            {
                _logger.LogWarning("shim {Namespace} {ContainerId} refused shutdown ({Error}); forcing",
                    shim.Namespace, shim.Id, e.Status.Detail);
                await StopShimAsync(shim, force: true).ConfigureAwait(false);
                return;
            }
            catch (RpcException)
            {
                // It may exit before it answers.
            }
        }
        if (!await shim.Process.WaitForExitAsync(ShimExitTimeout).ConfigureAwait(false))
        {
            _logger.LogWarning("shim {Namespace} {ContainerId} {Pid} did not exit; killing it",
                shim.Namespace, shim.Id, shim.Process.Pid);
            shim.Process.Kill();
            await shim.Process.WaitForExitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        }
    }

    /// <summary>Stops every event pump (daemon shutdown); the shims and their containers keep running.</summary>
    public async Task DetachAllAsync()
    {
        await Task.WhenAll(registry.All().Where(t => t.Tombstone is null).Select(async task =>
        {
            await task.Events.DisposeAsync().ConfigureAwait(false);
            task.Shim.Dispose();
        })).ConfigureAwait(false);
    }
}
