using System.Diagnostics;
using System.Text.Json;
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
    /// <param name="findStrayShims">
    /// Also look in /proc for a shim serving this bundle that BUNDLE/shim.pid does
    /// not name: a daemon killed between spawning a shim and recording its pid
    /// leaves one. Only the recovery paths need this scan.
    /// </param>
    public async Task CleanupAsync(string @namespace, string id, bool forceRuntimeDelete, bool findStrayShims = false)
    {
        var bundle = layout.Bundle(@namespace, id);
        var shimPids = new HashSet<int>();
        if (AdoptedShimProcess.ReadPidFile(bundle) is var recorded and > 0)
            shimPids.Add(recorded);
        if (findStrayShims)
            shimPids.UnionWith(AdoptedShimProcess.FindServing(bundle));
        foreach (var shimPid in shimPids)
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
    /// What the OCI runtime says of the container (<c>runc state</c>): its
    /// status word ("created", "running", "paused", "stopped"), or null when the
    /// runtime has no such container (or could not be asked).
    /// </summary>
    public async Task<string?> RuntimeStatusAsync(string @namespace, string id)
    {
        var bundle = layout.Bundle(@namespace, id);
        var (exitCode, stdout, _) = await RunRuntimeAsync(@namespace, id, bundle, "state", id).ConfigureAwait(false);
        if (exitCode != 0 || stdout.Length == 0)
            return null;
        try
        {
            using var json = JsonDocument.Parse(stdout);
            return json.RootElement.TryGetProperty("status", out var status) && status.ValueKind == JsonValueKind.String
                ? status.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
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
        var (exitCode, stdout, stderr) = await RunRuntimeAsync(@namespace, id, bundle, "delete", "--force", id).ConfigureAwait(false);
        // "does not exist" is the normal case: runc never created it, or the shim deleted it.
        logger.LogDebug("runtime delete --force {Namespace} {ContainerId}: exit {ExitCode} {Output}",
            @namespace, id, exitCode, (stderr + stdout).Trim());
    }

    /// <summary>Runs the task's OCI runtime (as recorded in its bundle) with its runc root; exit code -1 when it could not run.</summary>
    private async Task<(int ExitCode, string Stdout, string Stderr)> RunRuntimeAsync(string @namespace, string id, string bundle, params string[] arguments)
    {
        var runtime = ReadRuntime(bundle) ?? options.Runtime;
        var start = new ProcessStartInfo(runtime)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add("--root");
        start.ArgumentList.Add(layout.RuntimeRoot(@namespace));
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        try
        {
            using var process = Process.Start(start);
            if (process is null)
                return (-1, "", "");
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
            return (process.ExitCode, (await stdout.ConfigureAwait(false)).Trim(), (await stderr.ConfigureAwait(false)).Trim());
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
        {
            logger.LogWarning("could not run {Runtime} {Command} for {Namespace} {ContainerId}: {Error}",
                runtime, arguments[0], @namespace, id, e.Message);
            return (-1, "", "");
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
