using System.Diagnostics;

namespace Containerd.Tests.Support;

/// <summary>Runs the built <c>ctr</c> against a test daemon in one namespace and collects its output.</summary>
public static class CtrProcess
{
    /// <param name="stdin">
    /// Written to ctr's stdin, which is then closed; null leaves ctr's stdin
    /// the test runner's, unless <paramref name="closeStdin"/> gives it an empty, closed pipe.
    /// </param>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(
        DaemonProcess daemon, string ns, string? stdin, bool closeStdin, TimeSpan timeout, IEnumerable<string> args)
    {
        var info = new ProcessStartInfo(TestPaths.Ctr)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null || closeStdin,
        };
        foreach (var arg in (string[])["--address", daemon.Address, "--namespace", ns, .. args])
            info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        if (info.RedirectStandardInput)
        {
            if (stdin is not null)
                await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
        }
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        await process.WaitForExitAsync(cancel.Token);
        return (process.ExitCode, await stdout, await stderr);
    }
}
