using Containerd.Api.Shim;
using Containerd.Daemon.Hosting;
using Containerd.Daemon.Shims;
using Containerd.Shared.Identifiers;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Containerd.Daemon.Tasks;

/// <summary>
/// Rebuilds the task table from disk at start-up, before the API serves (and
/// so before systemd hears READY=1): every STATE/tasks/NS/ID directory with a
/// live shim that holds a created task is re-attached, its event pump replaying
/// what the shim queued meanwhile (the exchange keeps those events for the
/// namespace's first subscriber). A shim still inside a Create that a killed
/// daemon started is waited for. A task whose shim died while the daemon was
/// away is cleaned up and kept as a stopped task; a live shim that holds a
/// container but does not answer is attached anyway. Every other directory is
/// a leftover of a create that never finished and is removed (shim killed,
/// container deleted by the shim's delete command, mounts detached, directory
/// removed). Every case works from the bundle alone, as a normal start does.
/// </summary>
public sealed class TaskRecovery(
    StateLayout layout,
    TaskLifecycle lifecycle,
    ShimManager shims,
    ILogger<TaskRecovery> logger,
    DaemonOptions options)
{
    private TimeSpan StateTimeout => options.Timeouts.RecoveryState;
    // runc create normally takes a fraction of a second; a shim stuck longer than
    // the daemon would have waited for its start-up is treated as failed.
    private TimeSpan CreateWait => options.Timeouts.RecoveryCreateWait;

    /// <summary>Recovers every task on disk; returns how many were re-attached (live or stopped).</summary>
    public async Task<int> RecoverAsync(CancellationToken cancellationToken)
    {
        if (!Directory.Exists(layout.TasksRoot))
            return 0;
        var work = new List<Task<bool>>();
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
        var results = await Task.WhenAll(work).ConfigureAwait(false);
        return results.Count(attached => attached);
    }

    private async Task<bool> RecoverOneAsync(string @namespace, string id, CancellationToken cancellationToken)
    {
        // Buried by an earlier daemon: its container is gone, only the record is left until Delete.
        if (TombstoneFile.Read(layout.Bundle(@namespace, id), out var unreadable) is { } buried)
        {
            lifecycle.RegisterBuried(@namespace, id, buried);
            return true;
        }
        if (unreadable.Length > 0)
            logger.LogError("tombstone of {Namespace} {ContainerId} is unreadable ({Error}); recovering the task as if it had none", @namespace, id, unreadable);

        var shim = shims.Adopt(@namespace, id);
        try
        {
            var state = await AskShimAsync(shim, cancellationToken).ConfigureAwait(false);
            if (state?.Init is { } init)
            {
                lifecycle.Attach(shim, init.Pid, init.Stdio ?? new Stdio(), state.Execs);
                logger.LogInformation("re-attached task {Namespace} {ContainerId} {Pid} ({Status})",
                    @namespace, id, init.Pid, init.Status);
                return true;
            }

            if (state is not null)
            {
                // The shim lives but holds no task: the daemon died before or during a
                // Create that then failed. Nothing to keep.
                logger.LogWarning("shim of {Namespace} {ContainerId} holds no task; stopping it", @namespace, id);
                await shims.StopAsync(shim, force: true).ConfigureAwait(false);
            }
            else if (shim.Process.HasExited && shim.Bundle.ReadInitPid() is var initPid and > 0)
            {
                shim.Dispose();
                // A created task whose shim died while the daemon was away: if runc still
                // had its container, the task ends now (the delete killed what was left):
                // publish its exit and keep it as a stopped task.
                var deleted = await shims.DeleteContainerAsync(@namespace, id, findStrayShims: true, cancellationToken)
                    .ConfigureAwait(false);
                if (deleted is { ContainerExisted: true })
                {
                    // The bundle stays, with the tombstone, until Delete.
                    lifecycle.RegisterLost(@namespace, id, (uint)initPid, deleted);
                    return true;
                }
                RemoveBundleOf(@namespace, id);
                logger.LogWarning("cleaned up leftover task state {Namespace} {ContainerId}", @namespace, id);
                return false;
            }
            else if (!shim.Process.HasExited && shim.Bundle.ReadInitPid() is var livePid and > 0)
            {
                // Alive, holding a container, but silent (overloaded, stopped): killing it
                // would kill a container that may be fine. Attach it; its event pump keeps
                // trying, and calls report the shim as unreachable until it answers.
                logger.LogWarning("shim of {Namespace} {ContainerId} {Pid} does not answer; re-attaching it anyway",
                    @namespace, id, shim.Process.Pid);
                lifecycle.Attach(shim, (uint)livePid, new Stdio());
                return true;
            }
            shim.Dispose();
            logger.LogWarning("cleaning up leftover task state {Namespace} {ContainerId}", @namespace, id);
            await shims.CleanupAsync(@namespace, id, deleteContainer: true, findStrayShims: true, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RpcException or IOException or UnauthorizedAccessException)
        {
            logger.LogError("recovery of {Namespace} {ContainerId} failed: {Error}", @namespace, id,
                e is RpcException rpc ? rpc.Status.Detail : e.Message);
        }
        return false;
    }

    /// <summary>
    /// The shim's state, once no Create is running in it; null when there is
    /// no shim or it does not answer.
    /// </summary>
    private async Task<ShimStateResponse?> AskShimAsync(ShimConnection shim, CancellationToken cancellationToken)
    {
        if (!File.Exists(shim.Socket) || shim.Process.HasExited)
            return null;
        var deadline = DateTime.UtcNow + CreateWait;
        var waiting = false;
        while (true)
        {
            ShimStateResponse state;
            try
            {
                state = await shim.CallAsync((c, o) => c.StateAsync(new Empty(), o), cancellationToken, StateTimeout)
                    .ConfigureAwait(false);
            }
            catch (RpcException e)
            {
                logger.LogWarning("shim of {Namespace} {ContainerId} does not answer: {Error}", shim.Namespace, shim.Id, e.Status.Detail);
                return null;
            }
            if (state.Init is not null || !state.Creating)
                return state;
            if (DateTime.UtcNow > deadline)
            {
                logger.LogWarning("shim of {Namespace} {ContainerId} is still creating after {Seconds} s; giving up on it",
                    shim.Namespace, shim.Id, CreateWait.TotalSeconds);
                return state;
            }
            if (!waiting)
                logger.LogInformation("shim of {Namespace} {ContainerId} is still creating the task; waiting", shim.Namespace, shim.Id);
            waiting = true;
            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>A bundle that cannot be removed (a mount refused to go) must not cost the task its stopped record.</summary>
    private void RemoveBundleOf(string @namespace, string id)
    {
        try
        {
            shims.RemoveBundle(@namespace, id);
        }
        catch (Exception e) when (e is RpcException or IOException or UnauthorizedAccessException)
        {
            logger.LogError("cleanup of {Namespace} {ContainerId} after its shim died failed: {Error}", @namespace, id,
                e is RpcException rpc ? rpc.Status.Detail : e.Message);
        }
    }
}
