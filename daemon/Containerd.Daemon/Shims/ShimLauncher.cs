using System.Diagnostics;
using System.Globalization;
using System.Text;
using Containerd.Daemon.Hosting;
using Microsoft.Extensions.Logging;

namespace Containerd.Daemon.Shims;

/// <summary>
/// Starts one shim per task. The shim prints <c>ready</c> on stdout once its
/// socket listens, then calls setsid and detaches its stdio, so it survives
/// the daemon and its signals.
/// </summary>
public sealed class ShimLauncher(DaemonOptions options, StateLayout layout, ILogger<ShimLauncher> logger)
{
    public static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(10);
    private const int MaxStderrKept = 16 * 1024;

    public async Task<ShimConnection> StartAsync(string @namespace, string id, string runtime, CancellationToken cancellationToken)
    {
        if (options.Shim is null)
            throw RpcErrors.FailedPrecondition(
                "no shim binary: containerd-shim was not found beside the daemon or on PATH; pass --shim");

        var bundle = layout.Bundle(@namespace, id);
        var socket = layout.ShimSocket(@namespace, id);
        if (Path.GetDirectoryName(socket) is { } socketDir && socketDir != bundle)
            Directory.CreateDirectory(socketDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.Delete(socket);

        var start = new ProcessStartInfo(options.Shim)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = bundle,
        };
        foreach (var argument in new[]
                 {
                     "--namespace", @namespace, "--id", id, "--bundle", bundle, "--socket", socket,
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

        var shimProcess = new SpawnedShimProcess(process);
        try
        {
            process.StandardInput.Close();
            // Recorded before anything else can fail, so a later daemon can find and stop this shim.
            await File.WriteAllTextAsync(Path.Combine(bundle, StateLayout.ShimPidFile),
                process.Id.ToString(CultureInfo.InvariantCulture), CancellationToken.None).ConfigureAwait(false);

            // The shim's stderr, and stray stdout lines: both explain a shim that never got ready.
            var output = new StringBuilder();
            var stderrPump = PumpStderrAsync(process, output, @namespace, id);
            await WaitForReadyAsync(process, shimProcess, output, stderrPump, cancellationToken).ConfigureAwait(false);
            _ = DrainStdoutAsync(process);
            logger.LogDebug("shim started {Namespace} {ContainerId} {Pid}", @namespace, id, process.Id);
            return new ShimConnection(@namespace, id, bundle, socket, shimProcess);
        }
        catch
        {
            shimProcess.Kill();
            await shimProcess.WaitForExitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
            throw;
        }
    }

    private async Task WaitForReadyAsync(
        Process process, SpawnedShimProcess shimProcess, StringBuilder output, Task stderrPump, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ReadyTimeout);
        try
        {
            while (true)
            {
                var line = await process.StandardOutput.ReadLineAsync(timeout.Token).ConfigureAwait(false);
                if (line is null)
                    break;
                if (line.Trim() == "ready")
                    return;
                lock (output)
                {
                    if (output.Length < MaxStderrKept)
                        output.AppendLine(line);
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            shimProcess.Kill();
            await shimProcess.WaitForExitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
            await Task.WhenAny(stderrPump, Task.Delay(500, CancellationToken.None)).ConfigureAwait(false);
            throw RpcErrors.Internal(
                $"shim did not report ready within {ReadyTimeout.TotalSeconds:0} s{OutputSuffix(output)}");
        }

        // stdout closed without "ready": the shim failed; its stderr says why.
        await shimProcess.WaitForExitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        await Task.WhenAny(stderrPump, Task.Delay(1000, CancellationToken.None)).ConfigureAwait(false);
        var status = shimProcess.HasExited ? $"exited with status {process.ExitCode}" : "closed its stdout";
        throw RpcErrors.Internal($"shim {status} before it was ready{OutputSuffix(output)}");
    }

    private static string OutputSuffix(StringBuilder output)
    {
        string text;
        lock (output)
            text = output.ToString().Trim();
        return text.Length == 0 ? "" : ": " + text;
    }

    /// <summary>
    /// Reads the shim's stderr until it detaches, so its early messages can be
    /// reported and a chatty shim can never block on a full pipe.
    /// </summary>
    private async Task PumpStderrAsync(Process process, StringBuilder kept, string @namespace, string id)
    {
        try
        {
            while (await process.StandardError.ReadLineAsync().ConfigureAwait(false) is { } line)
            {
                lock (kept)
                {
                    if (kept.Length < MaxStderrKept)
                        kept.AppendLine(line);
                }
                logger.LogInformation("shim {Namespace} {ContainerId}: {Line}", @namespace, id, line);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The pipe went away with the shim.
        }
    }

    private static async Task DrainStdoutAsync(Process process)
    {
        try
        {
            while (await process.StandardOutput.ReadLineAsync().ConfigureAwait(false) is not null)
            {
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
        }
    }
}
