using System.Diagnostics;
using Containerd.Daemon.Hosting;
using Containerd.Daemon.Native;
using Microsoft.Extensions.Logging;

namespace Containerd.Daemon.Shims;

/// <summary>
/// Removes what a task left on the machine: its shim, runc's record of the
/// container, mounts under the bundle and the bundle itself. Idempotent, so
/// failed creates, deletes of tasks whose shim died, and start-up cleanup of
/// leftovers all share it.
/// </summary>
public sealed class BundleCleaner(DaemonOptions options, StateLayout layout, ILogger<BundleCleaner> logger)
{
    private static readonly TimeSpan RuntimeTimeout = TimeSpan.FromSeconds(10);

    /// <param name="forceRuntimeDelete">
    /// Run <c>runc delete --force</c> first: needed when no shim did the delete
    /// (shim dead, or create failed half-way); it also kills the container's processes.
    /// </param>
    public async Task CleanupAsync(string @namespace, string id, bool forceRuntimeDelete)
    {
        var bundle = layout.Bundle(@namespace, id);
        var shimPid = AdoptedShimProcess.ReadPidFile(bundle);
        if (shimPid > 0)
        {
            var shim = new AdoptedShimProcess(shimPid, bundle);
            if (!shim.HasExited)
            {
                logger.LogWarning("killing leftover shim {Namespace} {ContainerId} {Pid}", @namespace, id, shimPid);
                shim.Kill();
                await shim.WaitForExitAsync(TimeSpan.FromSeconds(3)).ConfigureAwait(false);
            }
        }
        if (forceRuntimeDelete)
            await DeleteRuntimeStateAsync(@namespace, id, bundle).ConfigureAwait(false);
        RemoveBundle(@namespace, id);
    }

    /// <summary>
    /// Deletes the bundle directory, after detaching any mount below it: a
    /// recursive delete through a live rootfs bind mount would destroy the
    /// files it exposes.
    /// </summary>
    public void RemoveBundle(string @namespace, string id)
    {
        var bundle = layout.Bundle(@namespace, id);
        var socket = layout.ShimSocket(@namespace, id);
        if (!socket.StartsWith(bundle + "/", StringComparison.Ordinal))
            TryDeleteFile(socket);
        if (!Directory.Exists(bundle))
            return;

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

    private async Task DeleteRuntimeStateAsync(string @namespace, string id, string bundle)
    {
        var runtime = ReadRuntime(bundle) ?? options.Runtime;
        var start = new ProcessStartInfo(runtime)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[] { "--root", layout.RuntimeRoot(@namespace), "delete", "--force", id })
            start.ArgumentList.Add(argument);
        try
        {
            using var process = Process.Start(start);
            if (process is null)
                return;
            process.StandardInput.Close();
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(RuntimeTimeout);
            try
            {
                await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                process.Kill();
                await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            }
            var message = (await stderr.ConfigureAwait(false)).Trim() + (await stdout.ConfigureAwait(false)).Trim();
            // "does not exist" is the normal case: runc never created it, or the shim deleted it.
            logger.LogDebug("{Runtime} delete --force {Namespace} {ContainerId}: exit {ExitCode} {Output}",
                runtime, @namespace, id, process.ExitCode, message);
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
        {
            logger.LogWarning("could not run {Runtime} delete for {Namespace} {ContainerId}: {Error}", runtime, @namespace, id, e.Message);
        }
    }

    private static string? ReadRuntime(string bundle)
    {
        try
        {
            var text = File.ReadAllText(Path.Combine(bundle, StateLayout.RuntimeFile)).Trim();
            return text.Length > 0 ? text : null;
        }
        catch (IOException)
        {
            return null;
        }
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
