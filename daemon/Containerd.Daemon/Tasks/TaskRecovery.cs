using Containerd.Api.Shim;
using Containerd.Daemon.Shims;
using Containerd.Shared.Identifiers;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Containerd.Daemon.Tasks;

/// <summary>
/// Rebuilds the task table from disk at start-up, before the API serves:
/// every STATE/tasks/NS/ID directory with a live shim that holds a created
/// task is re-attached; every other one is a leftover and is cleaned up
/// (shim killed, runc state deleted, mounts detached, directory removed).
/// </summary>
public sealed class TaskRecovery(
    StateLayout layout,
    TaskLifecycle lifecycle,
    BundleCleaner cleaner,
    ILogger<TaskRecovery> logger)
{
    private static readonly TimeSpan StateTimeout = TimeSpan.FromSeconds(3);

    public async Task RecoverAsync(CancellationToken cancellationToken)
    {
        if (!Directory.Exists(layout.TasksRoot))
            return;
        var work = new List<Task>();
        foreach (var namespaceDir in Directory.GetDirectories(layout.TasksRoot))
        {
            var @namespace = Path.GetFileName(namespaceDir);
            if (!Identifier.IsValid(@namespace))
            {
                logger.LogWarning("ignoring {Directory}: not a valid namespace name", namespaceDir);
                continue;
            }
            foreach (var bundle in Directory.GetDirectories(namespaceDir))
            {
                var id = Path.GetFileName(bundle);
                if (!Identifier.IsValid(id))
                {
                    logger.LogWarning("ignoring {Directory}: not a valid container id", bundle);
                    continue;
                }
                work.Add(RecoverOneAsync(@namespace, id, cancellationToken));
            }
        }
        await Task.WhenAll(work).ConfigureAwait(false);
    }

    private async Task RecoverOneAsync(string @namespace, string id, CancellationToken cancellationToken)
    {
        var bundle = layout.Bundle(@namespace, id);
        var socket = layout.ShimSocket(@namespace, id);
        var process = new AdoptedShimProcess(AdoptedShimProcess.ReadPidFile(bundle), bundle);
        var shim = new ShimConnection(@namespace, id, bundle, socket, process);
        ShimStateResponse? state = null;
        if (File.Exists(socket))
        {
            try
            {
                state = await shim.CallAsync((c, o) => c.StateAsync(new Empty(), o), cancellationToken, StateTimeout)
                    .ConfigureAwait(false);
            }
            catch (RpcException e)
            {
                logger.LogWarning("shim of {Namespace} {ContainerId} does not answer: {Error}", @namespace, id, e.Status.Detail);
            }
        }

        try
        {
            if (state?.Init is { } init)
            {
                lifecycle.Attach(shim, init.Pid);
                logger.LogInformation("re-attached task {Namespace} {ContainerId} {Pid} ({Status})",
                    @namespace, id, init.Pid, init.Status);
                return;
            }

            if (state is not null)
            {
                // The shim lives but its Create never finished: the daemon died mid-create.
                logger.LogWarning("shim of {Namespace} {ContainerId} holds no task; stopping it", @namespace, id);
                await lifecycle.StopShimAsync(shim, force: true).ConfigureAwait(false);
            }
            shim.Dispose();
            logger.LogWarning("cleaning up leftover task state {Namespace} {ContainerId}", @namespace, id);
            await cleaner.CleanupAsync(@namespace, id, forceRuntimeDelete: true).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RpcException or IOException or UnauthorizedAccessException)
        {
            logger.LogError("recovery of {Namespace} {ContainerId} failed: {Error}", @namespace, id, e.Message);
        }
    }
}
