using System.Diagnostics;
using NUnit.Framework;

namespace Containerd.TestCommon;

/// <summary>
/// Builds a Go program under test/go (a real grpc-go client) offline from Debian's
/// packages, in GOPATH mode. Both test projects compile this one file (linked), so
/// the toolchain checks and the build stay in one place.
/// CI installs Go, so a missing toolchain is a failure, not a skip: the set-up step
/// fails and says what is missing and how to get it, instead of a bare
/// "No such file or directory" from starting a process named go.
/// </summary>
internal static class GoProbe
{
    private const string GoPath = "/usr/share/gocode";
    private const string InstallHint = "run scripts/install-deps.sh --test (Debian's golang-go and golang-google-grpc-dev)";

    /// <summary>Builds test/go/<paramref name="name"/> into <paramref name="workDir"/>; returns the binary's path.</summary>
    public static async Task<string> BuildAsync(string repoRoot, string name, string workDir)
    {
        var searched = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries);
        var go = searched.Select(dir => Path.Combine(dir, "go")).FirstOrDefault(File.Exists);
        if (go is null)
            Assert.Fail($"Go toolchain not found at {string.Join(", ", searched.Select(dir => Path.Combine(dir, "go")))}: {InstallHint}");
        var grpc = Path.Combine(GoPath, "src", "google.golang.org", "grpc");
        if (!Directory.Exists(grpc))
            Assert.Fail($"grpc-go not found at {grpc}: {InstallHint}");

        var binary = Path.Combine(workDir, name);
        var info = new ProcessStartInfo(go!) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.Combine(repoRoot, "test", "go", name) };
        foreach (var arg in new[] { "build", "-o", binary, "." })
            info.ArgumentList.Add(arg);
        info.Environment["GO111MODULE"] = "off";
        info.Environment["GOPATH"] = GoPath;
        info.Environment["GOCACHE"] = Path.Combine(workDir, "gocache");
        info.Environment["GOFLAGS"] = "";
        using var build = Process.Start(info)!;
        var stdout = build.StandardOutput.ReadToEndAsync();
        var stderr = build.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await build.WaitForExitAsync(timeout.Token);
        Assert.That(build.ExitCode, Is.EqualTo(0), $"{go} build of test/go/{name} failed: {await stdout}{await stderr}");
        return binary;
    }
}
