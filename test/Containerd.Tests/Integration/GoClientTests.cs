using System.Diagnostics;
using Containerd.TestCommon;
using Containerd.Tests.Support;

namespace Containerd.Tests.Integration;

/// <summary>
/// A real grpc-go client (Debian's grpc-go 1.33, built offline in GOPATH mode) dials the socket path
/// without a scheme, so every request carries the path as :authority, as kubelet-era Go clients send it.
/// </summary>
[TestFixture]
public sealed class GoClientTests : DaemonFixture
{
    private string _probe = "";

    [OneTimeSetUp]
    public async Task BuildGoClientAsync() =>
        _probe = await GoProbe.BuildAsync(TestPaths.RepoRoot, "grpcprobe", Daemon.Dir);

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
