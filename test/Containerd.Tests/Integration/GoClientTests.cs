using System.Diagnostics;
using Containerd.Tests.Support;

namespace Containerd.Tests.Integration;

/// <summary>
/// A real grpc-go client (Debian's grpc-go 1.33, built offline in GOPATH mode) dials the socket path
/// without a scheme, so every request carries the path as :authority, as kubelet-era Go clients send it.
/// </summary>
[TestFixture]
public sealed class GoClientTests : DaemonFixture
{
    private const string GoPath = "/usr/share/gocode";
    private const string InstallHint = "run scripts/install-deps.sh --test (Debian's golang-go and golang-google-grpc-dev)";

    private string _probe = "";

    /// <summary>
    /// CI installs Go, so a missing toolchain is a failure, not a skip: this set-up step fails
    /// and says what is missing and how to get it, instead of the test failing on a bare
    /// "No such file or directory" from starting a process named go.
    /// </summary>
    [OneTimeSetUp]
    public async Task BuildGoClientAsync()
    {
        var searched = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries);
        var go = searched.Select(dir => Path.Combine(dir, "go")).FirstOrDefault(File.Exists);
        if (go is null)
            Assert.Fail($"Go toolchain not found at {string.Join(", ", searched.Select(dir => Path.Combine(dir, "go")))}: {InstallHint}");
        var grpc = Path.Combine(GoPath, "src", "google.golang.org", "grpc");
        if (!Directory.Exists(grpc))
            Assert.Fail($"grpc-go not found at {grpc}: {InstallHint}");

        _probe = Path.Combine(Daemon.Dir, "grpcprobe");
        var info = new ProcessStartInfo(go!) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.Combine(TestPaths.RepoRoot, "test", "go", "grpcprobe") };
        foreach (var arg in new[] { "build", "-o", _probe, "." })
            info.ArgumentList.Add(arg);
        info.Environment["GO111MODULE"] = "off";
        info.Environment["GOPATH"] = GoPath;
        info.Environment["GOCACHE"] = Path.Combine(Daemon.Dir, "gocache");
        info.Environment["GOFLAGS"] = "";
        using var build = Process.Start(info)!;
        var stdout = build.StandardOutput.ReadToEndAsync();
        var stderr = build.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await build.WaitForExitAsync(timeout.Token);
        Assert.That(build.ExitCode, Is.EqualTo(0), $"{go} build of test/go/grpcprobe failed: {await stdout}{await stderr}");
    }

    [Test]
    public async Task GoClientWithSocketPathAuthorityIsServed()
    {
        var info = new ProcessStartInfo(_probe) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { Daemon.Address, Client.Namespace, "200" })
            info.ArgumentList.Add(arg);
        using var probe = Process.Start(info)!;
        var lines = new List<string>();
        var stderr = probe.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        while (await probe.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            lines.Add(line);
            TestContext.Progress.WriteLine("grpcprobe: " + line);
            if (line == "subscribed")
                await Client.RunAsync("gotask", "sh", "-c", "exit 3");
        }
        await probe.WaitForExitAsync(timeout.Token);

        Assert.That(probe.ExitCode, Is.EqualTo(0), string.Join("\n", lines) + await stderr);
        Assert.That(lines, Has.Some.StartsWith("version "));
        Assert.That(lines, Does.Contain("calls ok 200 on one connection"));
        Assert.That(lines, Does.Contain("health SERVING"));
        Assert.That(lines, Has.Some.StartsWith("reflection lists"));
        Assert.That(lines, Has.Some.StartsWith("event id=gotask"));
        Assert.That(lines, Does.Contain("exit event received: status 3"));
        await Client.RemoveAsync("gotask");
    }
}
