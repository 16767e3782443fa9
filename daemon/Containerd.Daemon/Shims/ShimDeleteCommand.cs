using System.Diagnostics;
using Containerd.Daemon.Hosting;
using Microsoft.Extensions.Logging;

namespace Containerd.Daemon.Shims;

/// <summary>
/// Runs <c>containerd-shim delete</c>, which removes what a task whose shim is
/// gone (or never got going) left behind: runc's container (killed by a forced
/// delete), the mounts under BUNDLE/rootfs and BUNDLE/init.pid. The shim binary
/// owns everything runc, so the daemon never runs runc itself. The command
/// leaves the bundle directory and any shim process alone; those stay the
/// daemon's (<see cref="ShimManager"/>).
/// </summary>
public sealed class ShimDeleteCommand(DaemonOptions options, StateLayout layout, ILogger<ShimDeleteCommand> logger)
{
    // runc state and runc delete --force, each of which the shim bounds itself; this is the backstop.
    private TimeSpan Timeout => options.Timeouts.ShimDelete;

    /// <summary>The command line after the binary; <paramref name="runtime"/> only when the bundle records none.</summary>
    public static IReadOnlyList<string> Arguments(
        string @namespace, string id, string bundle, string runtimeRoot, string? runtime, string logLevel)
    {
        var arguments = new List<string>
        {
            "delete", "--namespace", @namespace, "--id", id, "--bundle", bundle, "--runtime-root", runtimeRoot,
        };
        if (runtime is not null)
            arguments.AddRange(["--runtime", runtime]);
        arguments.AddRange(["--log-level", logLevel]);
        return arguments;
    }

    /// <summary>
    /// What the command reported, or null when it failed (logged with the
    /// reason): the caller goes on removing the bundle either way.
    /// </summary>
    public async Task<ShimDeleteResult?> RunAsync(string @namespace, string id, CancellationToken cancellationToken)
    {
        if (options.Shim is null)
        {
            logger.LogError("cannot clean up {Namespace} {ContainerId}: no shim binary to run delete with", @namespace, id);
            return null;
        }
        var bundle = layout.Bundle(@namespace, id);
        // The bundle's recorded runtime wins in the shim; the daemon's default stands in only for a bundle without one.
        var runtime = bundle.ReadRuntime() is null ? options.Runtime : null;
        var start = new ProcessStartInfo(options.Shim)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in Arguments(@namespace, id, bundle.Directory, layout.RuntimeRoot(@namespace), runtime, options.LogLevelName))
            start.ArgumentList.Add(argument);

        var (exitCode, stdout, stderr) = await RunAsync(start, cancellationToken).ConfigureAwait(false);
        if (exitCode != 0)
        {
            logger.LogError("shim delete of {Namespace} {ContainerId} failed (exit {ExitCode}): {Error}",
                @namespace, id, exitCode, stderr.Trim());
            return null;
        }
        if (!ShimDeleteResult.TryParse(stdout, out var result, out var error))
        {
            logger.LogError("shim delete of {Namespace} {ContainerId} answered unreadably: {Error}", @namespace, id, error);
            return null;
        }
        logger.LogDebug("shim delete {Namespace} {ContainerId}: runtime said {RuntimeStatus}, init {Pid}, exit {ExitStatus}",
            @namespace, id, result.RuntimeStatus ?? "none", result.InitPid, result.ExitStatus);
        return result;
    }

    /// <summary>Exit code -1 (and the reason as stderr) when the command could not run or did not end in time.</summary>
    private async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(ProcessStartInfo start, CancellationToken cancellationToken)
    {
        Process? process;
        try
        {
            process = Process.Start(start);
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
        {
            return (-1, "", $"cannot run {start.FileName}: {e.Message}");
        }
        if (process is null)
            return (-1, "", $"cannot run {start.FileName}");
        using (process)
        {
            process.StandardInput.Close();
            var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
            var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(Timeout);
            try
            {
                await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                process.Kill();
                await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
                return (-1, "", $"did not finish within {Timeout.TotalSeconds:0} s");
            }
            return (process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
        }
    }
}
