using Containerd.Shared.Grpc;
using Containerd.Tests.Support;
using Grpc.Core;
using Grpc.Net.Client;
using Runtime.V1;

namespace Containerd.Tests.Integration.Cri;

/// <summary>
/// A node not yet set up for pods: no CNI configuration and no sandbox image.
/// The CRI says so precisely, and every bad request gets its own status.
/// </summary>
[TestFixture]
public sealed class CriErrorTests : DaemonFixture
{
    private string _dir = "";
    private GrpcChannel _channel = null!;
    private RuntimeService.RuntimeServiceClient _runtime = null!;
    private ImageService.ImageServiceClient _images = null!;

    [OneTimeSetUp]
    public async Task ConfigureAsync()
    {
        _dir = Directory.CreateTempSubdirectory("ctrd-cri-bare-").FullName;
        var config = Path.Combine(_dir, "config.toml");
        await File.WriteAllTextAsync(config, $"""
            [cri]
            cni_conf_dir = "{Path.Combine(_dir, "net.d")}"
            netns_dir = "{Path.Combine(_dir, "netns")}"
            """);
        await Daemon.StopAsync();
        await Daemon.RestartAsync(new DaemonStartOptions(Arguments: ["--config", config]));
        _channel = UnixSocketChannel.Create(Daemon.Address);
        _runtime = new RuntimeService.RuntimeServiceClient(_channel);
        _images = new ImageService.ImageServiceClient(_channel);
    }

    [OneTimeTearDown]
    public void RemoveDirectory()
    {
        _channel?.Dispose();
        if (_dir.Length > 0)
            Directory.Delete(_dir, recursive: true);
    }

    [Test]
    public async Task WithoutACniConfigTheNetworkIsNotReady()
    {
        var status = await _runtime.StatusAsync(new StatusRequest());
        var network = status.Status.Conditions.Single(c => c.Type == "NetworkReady");
        Assert.That(network.Status, Is.False);
        Assert.That(network.Reason, Is.EqualTo("NetworkPluginNotReady"));
        Assert.That(network.Message, Is.EqualTo("Network plugin returns error: cni plugin not initialized"));
        Assert.That(status.Status.Conditions.Single(c => c.Type == "RuntimeReady").Status, Is.True);
    }

    [Test]
    public void WithoutASandboxImageRunPodSandboxSaysWhatToSet()
    {
        var e = Assert.ThrowsAsync<RpcException>(async () => await _runtime.RunPodSandboxAsync(new RunPodSandboxRequest
        {
            Config = new PodSandboxConfig { Metadata = new PodSandboxMetadata { Name = "p", Namespace = "default", Uid = "u" } },
        }));
        Assert.That(e!.StatusCode, Is.EqualTo(StatusCode.FailedPrecondition));
        Assert.That(e.Status.Detail, Does.Contain("sandbox_image"));
    }

    [Test]
    public void BadRequestsGetPreciseStatuses()
    {
        Assert.Multiple(() =>
        {
            Expect(StatusCode.InvalidArgument, "config is required", () => _runtime.RunPodSandboxAsync(new RunPodSandboxRequest()).ResponseAsync);
            Expect(StatusCode.InvalidArgument, "name and a namespace",
                () => _runtime.RunPodSandboxAsync(new RunPodSandboxRequest { Config = new PodSandboxConfig { Metadata = new PodSandboxMetadata() } }).ResponseAsync);
            Expect(StatusCode.NotFound, "pod sandbox \"nope\" not found",
                () => _runtime.PodSandboxStatusAsync(new PodSandboxStatusRequest { PodSandboxId = "nope" }).ResponseAsync);
            Expect(StatusCode.NotFound, "pod sandbox \"nope\" not found",
                () => _runtime.StopPodSandboxAsync(new StopPodSandboxRequest { PodSandboxId = "nope" }).ResponseAsync);
            Expect(StatusCode.NotFound, "container \"nope\" not found",
                () => _runtime.ContainerStatusAsync(new ContainerStatusRequest { ContainerId = "nope" }).ResponseAsync);
            Expect(StatusCode.NotFound, "container \"nope\" not found",
                () => _runtime.StartContainerAsync(new StartContainerRequest { ContainerId = "nope" }).ResponseAsync);
            Expect(StatusCode.NotFound, "pod sandbox \"nope\" not found",
                () => _runtime.CreateContainerAsync(new CreateContainerRequest
                {
                    PodSandboxId = "nope", Config = new ContainerConfig { Metadata = new ContainerMetadata { Name = "c" }, Image = new ImageSpec { Image = "x" } },
                }).ResponseAsync);
            Expect(StatusCode.InvalidArgument, "container id is required",
                () => _runtime.ExecSyncAsync(new ExecSyncRequest { Cmd = { "true" } }).ResponseAsync);
            Expect(StatusCode.Unimplemented, "streaming exec",
                () => _runtime.ExecAsync(new ExecRequest { ContainerId = "x", Cmd = { "sh" } }).ResponseAsync);
            Expect(StatusCode.Unimplemented, "streaming attach",
                () => _runtime.AttachAsync(new AttachRequest { ContainerId = "x" }).ResponseAsync);
            Expect(StatusCode.Unimplemented, "port forwarding",
                () => _runtime.PortForwardAsync(new PortForwardRequest { PodSandboxId = "x" }).ResponseAsync);
            Expect(StatusCode.InvalidArgument, "image is required",
                () => _images.PullImageAsync(new PullImageRequest()).ResponseAsync);
            Expect(StatusCode.InvalidArgument, "",
                () => _images.PullImageAsync(new PullImageRequest { Image = new ImageSpec { Image = "UPPER/Case" } }).ResponseAsync);
        });
    }

    [Test]
    public async Task RemovingWhatIsNotThereSucceedsAndUnknownImagesHaveNoStatus()
    {
        await _runtime.RemovePodSandboxAsync(new RemovePodSandboxRequest { PodSandboxId = "nope" });
        await _runtime.RemoveContainerAsync(new RemoveContainerRequest { ContainerId = "nope" });
        await _images.RemoveImageAsync(new RemoveImageRequest { Image = new ImageSpec { Image = "127.0.0.1:1/none:1" } });
        var status = await _images.ImageStatusAsync(new ImageStatusRequest { Image = new ImageSpec { Image = "127.0.0.1:1/none:1" } });
        Assert.That(status.Image, Is.Null);
        Assert.That((await _runtime.ListPodSandboxAsync(new ListPodSandboxRequest())).Items, Is.Empty);
        Assert.That((await _runtime.ListContainersAsync(new ListContainersRequest())).Containers, Is.Empty);
    }

    private static void Expect(StatusCode code, string words, Func<Task> call)
    {
        var e = Assert.ThrowsAsync<RpcException>(async () => await call());
        Assert.That(e!.StatusCode, Is.EqualTo(code), e.Status.Detail);
        Assert.That(e.Status.Detail, Does.Contain(words));
    }
}
