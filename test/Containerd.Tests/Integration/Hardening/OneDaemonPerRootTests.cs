using System.Diagnostics;
using Containerd.Api.Containers;
using Containerd.Api.Version;
using Containerd.Tests.Support;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Containerd.Tests.Integration.Hardening;

/// <summary>One daemon per --root; a namespace on every namespaced call; messages as large as containerd takes.</summary>
public sealed class OneDaemonPerRootTests : DaemonFixture
{
    [Test]
    public async Task ASecondDaemonOnTheSameRootExitsNamingIt()
    {
        await Client.CreateContainerAsync("kept", "true");
        var other = Path.Combine(Daemon.Dir, "other");
        var (exitCode, stderr) = await RunDaemonAsync(
            "--address", Path.Combine(other, "c.sock"), "--root", Daemon.RootDir, "--state", Path.Combine(other, "state"));

        Assert.Multiple(() =>
        {
            Assert.That(exitCode, Is.Not.EqualTo(0));
            Assert.That(stderr.Trim().Split('\n'), Has.Length.EqualTo(1), stderr);
            Assert.That(stderr, Does.Contain($"another daemon is using the root directory {Daemon.RootDir}"));
        });
        // The first daemon's records are untouched.
        var kept = await Client.Containers.GetAsync(new GetContainerRequest { Id = "kept" }, Client.Options());
        Assert.That(kept.Container.Id, Is.EqualTo("kept"));
        await Client.Containers.DeleteAsync(new DeleteContainerRequest { Id = "kept" }, Client.Options());
        Directory.Delete(other, recursive: true);
    }

    [Test]
    public void ANamespacedCallWithoutANamespaceIsRefused()
    {
        var noHeader = new CallOptions(deadline: DateTime.UtcNow.AddSeconds(30));
        var refused = Assert.ThrowsAsync<RpcException>(() => Client.Containers.ListAsync(new ListContainersRequest(), noHeader).ResponseAsync);
        Assert.That(refused!.StatusCode, Is.EqualTo(StatusCode.FailedPrecondition));
        Assert.That(refused.Status.Detail, Does.Contain("namespace is required"));

        var tasks = Assert.ThrowsAsync<RpcException>(() => Client.Tasks.ListAsync(new Api.Execution.ListRequest(), noHeader).ResponseAsync);
        Assert.That(tasks!.StatusCode, Is.EqualTo(StatusCode.FailedPrecondition));
    }

    [Test]
    public async Task TheVersionServiceNeedsNoNamespace()
    {
        var version = await Client.Version.VersionAsync(new Empty(), new CallOptions(deadline: DateTime.UtcNow.AddSeconds(30)));
        Assert.That(version.Version, Is.Not.Empty);
    }

    [Test]
    public async Task AMessageOf12MegabytesIsAccepted()
    {
        // A spec with a 12 MB annotation: over gRPC's 4 MB default, under containerd's 16 MB.
        var big = new string('x', 12 * 1024 * 1024);
        var node = System.Text.Json.Nodes.JsonNode.Parse(OciSpecs.Container("big", ["true"]))!;
        node["annotations"] = new System.Text.Json.Nodes.JsonObject { ["big"] = big };
        var spec = node.ToJsonString();
        var container = new Container
        {
            Id = "big",
            Spec = new Any { TypeUrl = OciSpecs.TypeUrl, Value = ByteString.CopyFromUtf8(spec) },
        };
        await Client.Containers.CreateAsync(new CreateContainerRequest { Container = container }, Client.Options());
        var back = await Client.Containers.GetAsync(new GetContainerRequest { Id = "big" }, Client.Options());
        Assert.That(back.Container.Spec.Value.Length, Is.EqualTo(container.Spec.Value.Length));
        await Client.Containers.DeleteAsync(new DeleteContainerRequest { Id = "big" }, Client.Options());
    }

    private static async Task<(int ExitCode, string Stderr)> RunDaemonAsync(params string[] args)
    {
        var info = new ProcessStartInfo(TestPaths.Daemon)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var arg in args.Concat(["--shim", TestPaths.Shim]))
            info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            await process.WaitForExitAsync();
            Assert.Fail("the second daemon did not exit: " + await stderr + await stdout);
        }
        return (process.ExitCode, await stderr);
    }
}
