using System.Diagnostics;
using Containerd.LeanGrpc.Calls;
using Containerd.TestCommon;
using Containerd.LeanGrpc.Transport;

namespace Containerd.UnitTests.LeanGrpc;

/// <summary>
/// A real grpc-go client (Debian's grpc-go 1.33, built offline in GOPATH mode from
/// test/go/shimprobe) against the shim's gRPC server hosting the test service:
/// unary, server stream, cancellation, deadline, 4 MB messages, 100 concurrent
/// calls, errors, and a connection that vanishes mid-call.
/// </summary>
[TestFixture]
public sealed class GoClientTests
{
    private string _dir = "";
    private string _probe = "";

    [OneTimeSetUp]
    public async Task BuildGoClientAsync()
    {
        _dir = Directory.CreateTempSubdirectory("shimprobe-").FullName;
        _probe = await GoProbe.BuildAsync(RepoRoot(), "shimprobe", _dir);
    }

    [OneTimeTearDown]
    public void RemoveBuild()
    {
        if (_dir.Length > 0)
            Directory.Delete(_dir, true);
    }

    [Test]
    public async Task GrpcGoClientIsServed()
    {
        var socket = Path.Combine(_dir, "probe.sock");
        var service = new ProbeService();
        var methods = new MethodRegistry();
        Proto.Probe.BindService(methods, service);
        var server = new GrpcServer(methods);
        server.Start(socket);
        try
        {
            var info = new ProcessStartInfo(_probe) { RedirectStandardOutput = true, RedirectStandardError = true };
            info.ArgumentList.Add(socket);
            using var probe = Process.Start(info)!;
            var stdout = probe.StandardOutput.ReadToEndAsync();
            var stderr = probe.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            await probe.WaitForExitAsync(timeout.Token);
            var lines = (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            foreach (var line in lines)
                TestContext.Progress.WriteLine("shimprobe: " + line);

            Assert.That(probe.ExitCode, Is.EqualTo(0), string.Join("\n", lines) + await stderr);
            Assert.That(lines, Is.EqualTo(new[]
            {
                "unary ok", "stream ok 20", "cancel ok", "deadline ok", "large ok", "concurrent ok 100",
                "error ok", "unimplemented ok", "vanished", "still serving",
            }));
            // What only the server sees: each abandoned handler's token was cancelled.
            foreach (var tag in new[] { "gocancel", "godeadline", "govanish" })
                await service.Cancelled(tag).WaitAsync(TimeSpan.FromSeconds(10));
        }
        finally
        {
            await server.StopAsync(TimeSpan.FromSeconds(1)).WaitAsync(TimeSpan.FromSeconds(10));
        }
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Containerd.sln")))
                return dir.FullName;
        }
        throw new DirectoryNotFoundException("Containerd.sln not found above " + AppContext.BaseDirectory);
    }
}
