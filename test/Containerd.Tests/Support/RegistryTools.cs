using System.Diagnostics;

namespace Containerd.Tests.Support;

/// <summary>Runs the registry fixture's command-line tools (umoci, skopeo, openssl, htpasswd, cp).</summary>
public static class RegistryTools
{
    /// <summary>Runs a tool to its end; a non-zero exit throws with its output, since a fixture that half-built is useless.</summary>
    public static async Task<string> RunAsync(string file, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
            info.ArgumentList.Add(argument);
        using var process = Process.Start(info) ?? throw new InvalidOperationException("cannot start " + file);
        // No tool here reads stdin; closing it keeps one that asks (a password prompt) from hanging.
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        var output = await stdout;
        var errors = await stderr;
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{output}\n{errors}");
        return output;
    }
}
