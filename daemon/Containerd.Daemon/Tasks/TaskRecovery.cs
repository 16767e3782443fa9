using Containerd.Api.Shim;
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
/// away is cleaned up and kept as a stopped tombstone; a live shim that holds a
/// container but does not answer is attached anyway. Every other directory is
/// a leftover of a create that never finished and is removed (shim killed,
/// runc state deleted, mounts detached, directory removed).
/// </summary>
public sealed class TaskRecovery(
    StateLayout layout,
    TaskLifecycle lifecycle,
    BundleCleaner cleaner,
    ILogger<TaskRecovery> logger)
{
    private static readonly TimeSpan StateTimeout = TimeSpan.FromSeconds(3);
    // runc create normally takes a fraction of a second; a shim stuck longer than
    // the daemon would have waited for its start-up is treated as failed.
    private static readonly TimeSpan CreateWait = TimeSpan.FromSeconds(30);

    /// <summary>Recovers every task on disk; returns how many were re-attached (live or as tombstones).</summary>
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
        var bundle = layout.Bundle(@namespace, id);
        var socket = layout.ShimSocket(@namespace, id);
        var process = new AdoptedShimProcess(AdoptedShimProcess.ReadPidFile(bundle), bundle);
        var shim = new ShimConnection(@namespace, id, bundle, socket, process);
        try
        {
            var state = await AskShimAsync(shim, cancellationToken).ConfigureAwait(false);
            if (state?.Init is { } init)
            {
                lifecycle.Attach(shim, init.Pid, init.Stdio ?? new Stdio());
                logger.LogInformation("re-attached task {Namespace} {ContainerId} {Pid} ({Status})",
                    @namespace, id, init.Pid, init.Status);
                return true;
            }

            if (state is not null)
            {
                // The shim lives but holds no task: the daemon died before or during a
                // Create that then failed. Nothing to keep.
                logger.LogWarning("shim of {Namespace} {ContainerId} holds no task; stopping it", @namespace, id);
                await lifecycle.StopShimAsync(shim, force: true).ConfigureAwait(false);
            }
            else if (process.HasExited && ReadInitPid(bundle) is var initPid and > 0
                     && await cleaner.RuntimeStatusAsync(@namespace, id).ConfigureAwait(false) is not null)
            {
                // A created task whose shim died while the daemon was away: its
                // container is still there. Clean up, publish its exit, keep a tombstone.
                logger.LogWarning("shim of {Namespace} {ContainerId} died while the daemon was away", @namespace, id);
                await lifecycle.RegisterLostAsync(shim, (uint)initPid, new Stdio()).ConfigureAwait(false);
                return true;
            }
            else if (!process.HasExited && ReadInitPid(bundle) is var livePid and > 0)
            {
                // Alive, holding a container, but silent (overloaded, stopped): killing it
                // would kill a container that may be fine. Attach it; its event pump keeps
                // trying, and calls report the shim as unreachable until it answers.
                logger.LogWarning("shim of {Namespace} {ContainerId} {Pid} does not answer; re-attaching it anyway",
                    @namespace, id, process.Pid);
                lifecycle.Attach(shim, (uint)livePid, new Stdio());
                return true;
            }
            shim.Dispose();
            logger.LogWarning("cleaning up leftover task state {Namespace} {ContainerId}", @namespace, id);
            await cleaner.CleanupAsync(@namespace, id, forceRuntimeDelete: true, findStrayShims: true).ConfigureAwait(false);
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

    /// <summary>The init's pid, from the pid file runc wrote at create (the shim removes it at delete).</summary>
    private static int ReadInitPid(string bundle)
    {
        try
        {
            return int.TryParse(File.ReadAllText(Path.Combine(bundle, StateLayout.InitPidFile)).Trim(), out var pid) ? pid : 0;
        }
        catch (IOException)
        {
            return 0;
        }
    }
}
