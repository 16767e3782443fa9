using System.Diagnostics;
using System.Text;
using Containerd.Daemon.Hosting;
using Microsoft.Extensions.Logging;

namespace Containerd.Daemon.Shims;

/// <summary>
/// Watches a freshly spawned shim until it prints <c>ready</c> on stdout (its
/// socket then listens). Until then its stderr and stray stdout lines are kept,
/// because they explain a shim that never got ready; stderr is read to the end
/// so a chatty shim can never block on a full pipe.
/// </summary>
internal sealed class ShimStartup(Process process, SpawnedShimOsProcess shim, ILogger logger, string @namespace, string id)
{
    private const int MaxOutputKept = 16 * 1024;

    private readonly StringBuilder _output = new();
    private Task _stderrPump = Task.CompletedTask;

    /// <summary>Returns once the shim is ready; throws (the shim killed or gone) when it failed or timed out.</summary>
    public async Task WaitForReadyAsync(TimeSpan readyTimeout, CancellationToken cancellationToken)
    {
        _stderrPump = PumpStderrAsync();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(readyTimeout);
        try
        {
            while (await process.StandardOutput.ReadLineAsync(timeout.Token).ConfigureAwait(false) is { } line)
            {
                if (line.Trim() == "ready")
                {
                    _ = DrainStdoutAsync();
                    return;
                }
                Keep(line);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            shim.Kill();
            await shim.WaitForExitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
            await Task.WhenAny(_stderrPump, Task.Delay(500, CancellationToken.None)).ConfigureAwait(false);
            throw RpcErrors.Internal($"shim did not report ready within {readyTimeout.TotalSeconds:0} s{OutputSuffix()}");
        }

        // stdout closed without "ready": the shim failed; its stderr says why.
        await shim.WaitForExitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        await Task.WhenAny(_stderrPump, Task.Delay(1000, CancellationToken.None)).ConfigureAwait(false);
        var status = shim.HasExited ? $"exited with status {process.ExitCode}" : "closed its stdout";
        throw RpcErrors.Internal($"shim {status} before it was ready{OutputSuffix()}");
    }

    private void Keep(string line)
    {
        lock (_output)
        {
            if (_output.Length < MaxOutputKept)
                _output.AppendLine(line);
        }
    }

    private string OutputSuffix()
    {
        string text;
        lock (_output)
            text = _output.ToString().Trim();
        return text.Length == 0 ? "" : ": " + text;
    }

    private async Task PumpStderrAsync()
    {
        try
        {
            while (await process.StandardError.ReadLineAsync().ConfigureAwait(false) is { } line)
            {
                Keep(line);
                logger.LogInformation("shim {Namespace} {ContainerId}: {Line}", @namespace, id, line);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The pipe went away with the shim.
        }
    }

    /// <summary>After ready the shim detaches its stdio; read whatever came before that so it never blocks.</summary>
    private async Task DrainStdoutAsync()
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
