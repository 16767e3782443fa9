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

namespace Containerd.Daemon.Tasks;

/// <summary>
/// Creates and deletes tasks: bundle, shim, registration. Both run under the
/// container's lock, and a failed Create leaves nothing behind (no shim, no
/// mount, no bundle directory).
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
    ILoggerFactory loggerFactory)
{
    public const string CriuCheckpointMediaType = "application/vnd.containerd.container.criu.checkpoint.criu.tar";

    private const UnixFileMode PrivateDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private static readonly TimeSpan ShimExitTimeout = TimeSpan.FromSeconds(5);

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
            await cleaner.CleanupAsync(@namespace, id, forceRuntimeDelete: true).ConfigureAwait(false);
        }

        ShimConnection? shim = null;
        try
        {
            Directory.CreateDirectory(bundle, PrivateDirectory);
            Directory.CreateDirectory(layout.RuntimeRoot(@namespace), PrivateDirectory);
            await File.WriteAllBytesAsync(Path.Combine(bundle, StateLayout.ConfigFile), container.Spec.Value.ToByteArray(), cancellationToken)
                .ConfigureAwait(false);
            await File.WriteAllTextAsync(Path.Combine(bundle, StateLayout.RuntimeFile), runtime, cancellationToken).ConfigureAwait(false);

            shim = await launcher.StartAsync(@namespace, id, runtime, cancellationToken).ConfigureAwait(false);
            var shimRequest = new ShimCreateRequest
            {
                Id = id,
                Bundle = bundle,
                Stdio = new Stdio { Stdin = request.Stdin, Stdout = request.Stdout, Stderr = request.Stderr, Terminal = request.Terminal },
            };
            shimRequest.Rootfs.Add(request.Rootfs);
            var created = await shim.CallAsync((c, o) => c.CreateAsync(shimRequest, o), cancellationToken).ConfigureAwait(false);

            Attach(shim, created.Pid);
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

        ShimDeleteResponse deleted;
        var shimDead = task.Shim.Process.HasExited;
        if (shimDead)
        {
            // Nobody can tell the exit status any more; 255 is what containerd reports then.
            _logger.LogWarning("shim of {Namespace} {ContainerId} {Pid} is gone; cleaning up without it",
                @namespace, id, task.Shim.Process.Pid);
            deleted = new ShimDeleteResponse { Pid = task.InitPid, ExitStatus = 255, ExitedAt = Timestamp.FromDateTime(DateTime.UtcNow) };
        }
        else
        {
            // FailedPrecondition for a running or paused task comes from the shim.
            deleted = await task.Shim.CallAsync((c, o) => c.DeleteAsync(new Empty(), o), cancellationToken).ConfigureAwait(false);
        }

        // The task is gone in the shim: finish regardless of the caller's cancellation.
        registry.TryRemove(@namespace, id, out _);
        task.Events.ExpectEnd();
        await StopShimAsync(task.Shim, force: shimDead).ConfigureAwait(false);
        await task.Events.DrainAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        await task.Events.DisposeAsync().ConfigureAwait(false);
        task.Shim.Dispose();
        await cleaner.CleanupAsync(@namespace, id, forceRuntimeDelete: shimDead).ConfigureAwait(false);

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
    public RunningTask Attach(ShimConnection shim, uint initPid)
    {
        var pump = new EventPump(shim, exchange, loggerFactory.CreateLogger<EventPump>());
        var task = new RunningTask(shim.Namespace, shim.Id, initPid, shim, pump);
        if (!registry.TryAdd(task))
            throw RpcErrors.AlreadyExists($"task \"{shim.Id}\" already exists in namespace \"{shim.Namespace}\"");
        pump.Start();
        return task;
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
        foreach (var task in registry.All())
        {
            await task.Events.DisposeAsync().ConfigureAwait(false);
            task.Shim.Dispose();
        }
    }
}
