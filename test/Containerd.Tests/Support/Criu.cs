using System.Diagnostics;

namespace Containerd.Tests.Support;

/// <summary>
/// What <c>criu check</c> says about this machine, once per run: whether
/// checkpoint/restore can work here, and if not, CRIU's own error lines
/// (e.g. "Error (criu/vdso.c:613): vdso: Failed to fill self vdso symtable").
/// </summary>
public static class Criu
{
    private static readonly Lazy<(bool Works, IReadOnlyList<string> Errors, string Output)> Check = new(Run);

    public static bool Works => Check.Value.Works;

    /// <summary>The "Error ..." lines criu check printed, without their timestamps.</summary>
    public static IReadOnlyList<string> Errors => Check.Value.Errors;

    public static string Output => Check.Value.Output;

    private static (bool, IReadOnlyList<string>, string) Run()
    {
        try
        {
            var info = new ProcessStartInfo("criu", "check") { RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = Process.Start(info)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEnd();
            process.WaitForExit();
            var output = stdout.Result + stderr;
            var errors = output.Split('\n')
                .Select(line => line.Trim())
                .Select(line => line.StartsWith('(') && line.IndexOf(')', StringComparison.Ordinal) is var close and > 0 ? line[(close + 1)..].Trim() : line)
                .Where(line => line.StartsWith("Error", StringComparison.Ordinal))
                .ToList();
            return (process.ExitCode == 0, errors, output.Trim());
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (false, [], $"criu is not installed: {e.Message}");
        }
    }
}
