using System.Diagnostics;
using Containerd.Api.Shim;
using Containerd.Daemon.Hosting;
using Containerd.Shared.Native;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Containerd.Daemon.Shims;

/// <summary>
/// Starts, stops and cleans up after the shims, one per task. It works from
/// what is on disk (the task's bundle directory and socket), so a shim this
/// daemon started and one a killed daemon left behind are handled alike, and
/// start-up after a crash is the ordinary path. Cleanup after a dead shim is
/// the shim binary's own <c>delete</c> sub-command (<see cref="ShimDeleteCommand"/>);
/// the daemon only kills leftover shim processes and removes the bundle.
/// </summary>
public sealed class ShimManager(
    DaemonOptions options, StateLayout layout, ShimDeleteCommand deleteCommand, ILogger<ShimManager> logger)
{
    private TimeSpan ReadyTimeout => options.Timeouts.ShimReady;
    private TimeSpan ShutdownTimeout => options.Timeouts.ShimShutdown;
    private TimeSpan ExitTimeout => options.Timeouts.ShimExit;
    private TimeSpan KilledExitTimeout => options.Timeouts.ShimKilledExit;

    /// <summary>util-linux unshare(1): Debian essential, so always there.</summary>
    private const string Unshare = "/usr/bin/unshare";

    private readonly Lock _teardownGate = new();
    private readonly Dictionary<(string Namespace, string Id), Task> _teardowns = [];

    /// <summary>
    /// Runs what is left of a deleted task's teardown (shim shutdown, waiting
    /// for its exit, bundle and socket removal) in the background, so Delete can
    /// answer once the shim reported the exit status. Tracked per task until it
    /// ends: a Create of the same id waits for it (<see cref="WaitForTeardownAsync"/>),
    /// and so does the daemon's own stop (<see cref="WaitForAllTeardownsAsync"/>).
    /// A teardown begun while another of the same id is pending runs after it.
    /// Failures are logged, never thrown: nobody waits for an answer any more.
    /// </summary>
    public Task BeginTeardown(string @namespace, string id, Func<Task> teardown)
    {
        var key = (@namespace, id);
        Task task;
        lock (_teardownGate)
        {
            var previous = _teardowns.GetValueOrDefault(key) ?? Task.CompletedTask;
            task = Task.Run(async () =>
            {
                await previous.ConfigureAwait(false);
                try
                {
                    await teardown().ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    logger.LogError("teardown of {Namespace} {ContainerId} failed: {Error}", @namespace, id,
                        e is RpcException rpc ? rpc.Status.Detail : e.Message);
                }
            });
            _teardowns[key] = task;
        }
        _ = task.ContinueWith(done =>
        {
            lock (_teardownGate)
            {
                if (_teardowns.TryGetValue(key, out var current) && ReferenceEquals(current, done))
                    _teardowns.Remove(key);
            }
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return task;
    }

    /// <summary>Returns once no teardown of this task is pending (at once when none is).</summary>
    public Task WaitForTeardownAsync(string @namespace, string id, CancellationToken cancellationToken)
    {
        Task? pending;
        lock (_teardownGate)
            pending = _teardowns.GetValueOrDefault((@namespace, id));
        return pending is null || pending.IsCompleted ? Task.CompletedTask : pending.WaitAsync(cancellationToken);
    }

    /// <summary>How many teardowns are still running.</summary>
    public int PendingTeardowns
    {
        get
        {
            lock (_teardownGate)
                return _teardowns.Count(t => !t.Value.IsCompleted);
        }
    }

    /// <summary>
    /// Waits, at most <paramref name="bound"/>, for every pending teardown (daemon
    /// shutdown). Whatever is still left then is what a killed daemon would leave:
    /// the next start-up's recovery removes it.
    /// </summary>
    /// <returns>False when the bound passed first.</returns>
    public async Task<bool> WaitForAllTeardownsAsync(TimeSpan bound)
    {
        Task[] pending;
        lock (_teardownGate)
            pending = [.. _teardowns.Values];
        if (pending.Length == 0)
            return true;
        try
        {
            await Task.WhenAll(pending).WaitAsync(bound).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            logger.LogWarning("{Count} task teardowns still running after {Seconds} s; the next start-up finishes them",
                pending.Count(t => !t.IsCompleted), bound.TotalSeconds);
            return false;
        }
    }

    /// <summary>
    /// Spawns the shim of a task whose bundle is written and waits for it to be
    /// ready. It prints <c>ready</c> once its socket listens, then calls setsid
    /// and detaches its stdio, so it survives the daemon and its signals. The
    /// shim records its own pid in the bundle.
    /// </summary>
    public async Task<ShimConnection> StartAsync(string @namespace, string id, string runtime, CancellationToken cancellationToken)
    {
        if (options.Shim is null)
            throw RpcErrors.FailedPrecondition(
                "no shim binary: containerd-shim was not found beside the daemon or on PATH; pass --shim");

        var bundle = layout.Bundle(@namespace, id);
        var socket = layout.ShimSocket(@namespace, id);
        if (Path.GetDirectoryName(socket) is { } socketDir && socketDir != bundle.Directory)
            Directory.CreateDirectory(socketDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.Delete(socket);

        // The shim gets a mount namespace of its own: unshare(2) of CLONE_NEWNS fails
        // in a multithreaded process (every .NET process), so it is made here, at
        // launch. util-linux unshare execs the shim (same pid, so the pid, the
        // readiness pipe and the /proc cmdline checks are the shim's), with every
        // mount a slave: the host's mounts still reach the shim, but nothing the
        // shim or runc mounts reaches the host, and all of it dies with the shim.
        if (!File.Exists(Unshare))
            throw RpcErrors.FailedPrecondition(
                $"cannot start shim: {Unshare} (util-linux) is needed to give it its own mount namespace");
        var start = new ProcessStartInfo(Unshare)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = bundle.Directory,
        };
        foreach (var argument in new[]
                 {
                     "--mount", "--propagation", "slave", "--", options.Shim,
                     "--namespace", @namespace, "--id", id, "--bundle", bundle.Directory, "--socket", socket,
                     "--runtime", runtime, "--runtime-root", layout.RuntimeRoot(@namespace),
                     "--log-level", options.LogLevelName,
                 })
            start.ArgumentList.Add(argument);

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("Process.Start returned null");
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            throw RpcErrors.FailedPrecondition($"cannot start shim {options.Shim}: {e.Message}");
        }

        var shimProcess = new SpawnedShimOsProcess(process);
        try
        {
            process.StandardInput.Close();
            await new ShimStartup(process, shimProcess, logger, @namespace, id)
                .WaitForReadyAsync(ReadyTimeout, cancellationToken).ConfigureAwait(false);
            logger.LogDebug("shim started {Namespace} {ContainerId} {Pid}", @namespace, id, process.Id);
            return new ShimConnection(@namespace, id, bundle, socket, shimProcess);
        }
        catch
        {
            shimProcess.Kill();
            await shimProcess.WaitForExitAsync(KilledExitTimeout).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// A connection to the shim a previous daemon started for this task, as the
    /// bundle records it (BUNDLE/shim.pid); its process may be long gone.
    /// </summary>
    public ShimConnection Adopt(string @namespace, string id)
    {
        var bundle = layout.Bundle(@namespace, id);
        var process = new AdoptedShimOsProcess(bundle.ReadShimPid(), bundle.Directory);
        return new ShimConnection(@namespace, id, bundle, layout.ShimSocket(@namespace, id), process);
    }

    /// <summary>Asks the shim to exit (Shutdown), waits a bounded time, then kills it.</summary>
    public async Task StopAsync(ShimConnection shim, bool force)
    {
        if (!shim.Process.HasExited)
        {
            try
            {
                await shim.CallAsync((c, o) => c.ShutdownAsync(new ShimShutdownRequest { Force = force }, o),
                    CancellationToken.None, ShutdownTimeout).ConfigureAwait(false);
            }
            catch (RpcException e) when (!force && e.StatusCode != StatusCode.Unavailable)
            {
                logger.LogWarning("shim {Namespace} {ContainerId} refused shutdown ({Error}); forcing",
                    shim.Namespace, shim.Id, e.Status.Detail);
                await StopAsync(shim, force: true).ConfigureAwait(false);
                return;
            }
            catch (RpcException)
            {
                // It may exit before it answers.
            }
        }
        if (!await shim.Process.WaitForExitAsync(ExitTimeout).ConfigureAwait(false))
        {
            logger.LogWarning("shim {Namespace} {ContainerId} {Pid} did not exit; killing it",
                shim.Namespace, shim.Id, shim.Process.Pid);
            shim.Process.Kill();
            await shim.Process.WaitForExitAsync(KilledExitTimeout).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Removes what a task left on the machine: its shim process, the
    /// container (through the shim's delete command), the mounts under the
    /// bundle, the bundle and the socket. Idempotent, so failed creates,
    /// tasks whose shim died, and leftovers found at start-up share it.
    /// </summary>
    /// <param name="deleteContainer">
    /// Run the shim's delete command: needed when no shim deleted the container
    /// (shim dead, or create failed half-way); it also kills the container's processes.
    /// </param>
    /// <param name="findStrayShims">
    /// Also look in /proc for a shim serving this bundle that BUNDLE/shim.pid does
    /// not name: a daemon killed before the shim recorded its pid leaves one.
    /// Only the recovery paths need this scan.
    /// </param>
    /// <returns>What the delete command reported; null when it was not run or failed.</returns>
    public async Task<ShimDeleteResult?> CleanupAsync(
        string @namespace, string id, bool deleteContainer, bool findStrayShims, CancellationToken cancellationToken)
    {
        ShimDeleteResult? result = null;
        if (deleteContainer)
            result = await DeleteContainerAsync(@namespace, id, findStrayShims, cancellationToken).ConfigureAwait(false);
        else
            await KillLeftoverShimsAsync(@namespace, id, findStrayShims).ConfigureAwait(false);
        RemoveBundle(@namespace, id);
        return result;
    }

    /// <summary>
    /// Kills any shim process still serving the bundle, then runs the shim's
    /// delete command, which force-deletes the container (killing what is left
    /// of it) and detaches the rootfs. The bundle stays (see <see cref="RemoveBundle"/>).
    /// </summary>
    /// <returns>What the delete command reported; null when it failed (logged).</returns>
    public async Task<ShimDeleteResult?> DeleteContainerAsync(
        string @namespace, string id, bool findStrayShims, CancellationToken cancellationToken)
    {
        await KillLeftoverShimsAsync(@namespace, id, findStrayShims).ConfigureAwait(false);
        return await deleteCommand.RunAsync(@namespace, id, cancellationToken).ConfigureAwait(false);
    }

    private async Task KillLeftoverShimsAsync(string @namespace, string id, bool findStrayShims)
    {
        var bundle = layout.Bundle(@namespace, id);
        var shimPids = new HashSet<int>();
        if (bundle.ReadShimPid() is var recorded and > 0)
            shimPids.Add(recorded);
        if (findStrayShims)
            shimPids.UnionWith(AdoptedShimOsProcess.FindServing(bundle.Directory));
        foreach (var shimPid in shimPids)
        {
            var shim = new AdoptedShimOsProcess(shimPid, bundle.Directory);
            if (shim.HasExited)
                continue;
            logger.LogWarning("killing leftover shim {Namespace} {ContainerId} {Pid}", @namespace, id, shimPid);
            shim.Kill();
            await shim.WaitForExitAsync(TimeSpan.FromSeconds(3)).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Deletes the socket and the bundle directory, after detaching any mount
    /// below it: a recursive delete through a live rootfs bind mount would
    /// destroy the files it exposes.
    /// </summary>
    public void RemoveBundle(string @namespace, string id)
    {
        var bundle = layout.Bundle(@namespace, id).Directory;
        var socket = layout.ShimSocket(@namespace, id);
        if (!socket.StartsWith(bundle + "/", StringComparison.Ordinal))
            TryDeleteFile(socket);
        if (!Directory.Exists(bundle))
            return;

        // The shim's delete detached the rootfs; this catches whatever it could not (or was never run).
        var remaining = MountTable.DetachAllUnder(bundle);
        if (remaining.Count > 0)
        {
            logger.LogError("not removing bundle {Bundle}: still mounted at {Mounts}", bundle, string.Join(", ", remaining));
            throw RpcErrors.Internal($"bundle {bundle} still has mounts ({string.Join(", ", remaining)}); not removed");
        }
        try
        {
            Directory.Delete(bundle, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
        logger.LogDebug("removed bundle {Namespace} {ContainerId}", @namespace, id);
    }

    private static void TryDeleteFile(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}
