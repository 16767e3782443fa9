using Containerd.Api.CriStore;
using Containerd.Daemon.Cri.Common;
using Containerd.Daemon.Cri.Containers;
using Containerd.Daemon.Cri.Images;
using Containerd.Daemon.Cri.Sandboxes;
using Grpc.Core;
using Runtime.V1;

namespace Containerd.UnitTests.Daemon.Cri;

/// <summary>The CRI adapter's pure rules: ids by prefix, image names, users, states, a pod's resolv.conf.</summary>
public sealed class CriAdapterLogicTests
{
    private static readonly string[] Ids = ["abc123", "abd456", "ffff00"];

    [TestCase("abc123", "abc123")]
    [TestCase("abc", "abc123")]
    [TestCase("ff", "ffff00")]
    [TestCase("zz", null)]
    public void AnIdMayBeAUniquePrefix(string prefix, string? expected) =>
        Assert.That(CriIdIndex.Resolve(prefix, Ids, "container"), Is.EqualTo(expected));

    [Test]
    public void AnAmbiguousOrEmptyIdIsInvalidArgument()
    {
        var ambiguous = Assert.Throws<RpcException>(() => CriIdIndex.Resolve("ab", Ids, "container"));
        Assert.That(ambiguous!.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
        Assert.That(ambiguous.Status.Detail, Does.Contain("\"ab\" is ambiguous"));
        Assert.That(Assert.Throws<RpcException>(() => CriIdIndex.Resolve("", Ids, "pod sandbox"))!.Status.Detail,
            Is.EqualTo("pod sandbox id is required"));
    }

    [Test]
    public void NewIdsAreSixtyFourHexCharacters()
    {
        var id = CriNames.NewId();
        Assert.That(id, Does.Match("^[0-9a-f]{64}$"));
        Assert.That(CriNames.NewId(), Is.Not.EqualTo(id));
    }

    [TestCase("docker.io/library/busybox:latest", "docker.io/library/busybox")]
    [TestCase("127.0.0.1:5000/busybox:1.36", "127.0.0.1:5000/busybox")]
    [TestCase("127.0.0.1:5000/busybox@sha256:0123", "127.0.0.1:5000/busybox")]
    [TestCase("localhost:5000/a/b", "localhost:5000/a/b")]
    public void TheRepositoryOfANameDropsTagAndDigest(string name, string repository) =>
        Assert.That(CriImage.Repository(name), Is.EqualTo(repository));

    [TestCase("localhost:5000", true)]
    [TestCase("localhost", true)]
    [TestCase("127.0.0.1:5000", true)]
    [TestCase("127.1.2.3", true)]
    [TestCase("[::1]:5000", true)]
    [TestCase("docker.io", false)]
    [TestCase("10.0.0.1:5000", false)]
    [TestCase("[fe80::1]:5000", false)]
    public void ARegistryOnThisHostIsLocalhost(string registry, bool local) =>
        Assert.That(CriImages.IsLocalhost(registry), Is.EqualTo(local));

    [TestCase("""{"config":{"User":"1000"}}""", 1000L, "")]
    [TestCase("""{"config":{"User":"1000:50"}}""", 1000L, "")]
    [TestCase("""{"config":{"User":"nobody"}}""", null, "nobody")]
    [TestCase("""{"config":{"User":"nobody:nogroup"}}""", null, "nobody")]
    [TestCase("""{"config":{}}""", null, "")]
    [TestCase("not json", null, "")]
    public void TheImageUserIsAUidOrAUsername(string config, long? uid, string username) =>
        Assert.That(CriImages.ImageUser(System.Text.Encoding.UTF8.GetBytes(config)), Is.EqualTo((uid, username)));

    [Test]
    public void AContainerIsCreatedThenRunningThenExited()
    {
        var record = new ContainerRecord();
        Assert.That(ContainerManager.StateOf(record), Is.EqualTo(ContainerState.ContainerCreated));
        record.StartedAt = 1;
        Assert.That(ContainerManager.StateOf(record), Is.EqualTo(ContainerState.ContainerRunning));
        record.FinishedAt = 2;
        Assert.That(ContainerManager.StateOf(record), Is.EqualTo(ContainerState.ContainerExited));
        // A start that failed: finished without having started.
        Assert.That(ContainerManager.StateOf(new ContainerRecord { FinishedAt = 3 }), Is.EqualTo(ContainerState.ContainerExited));
    }

    [Test]
    public void ThePodsResolvConfIsItsDnsConfig()
    {
        var text = SandboxFileLayout.ResolvConfText(new DNSConfig
        {
            Servers = { "10.96.0.10", "10.96.0.11" },
            Searches = { "ns.svc.cluster.local", "svc.cluster.local" },
            Options = { "ndots:5" },
        });
        Assert.That(text, Is.EqualTo(
            "search ns.svc.cluster.local svc.cluster.local\nnameserver 10.96.0.10\nnameserver 10.96.0.11\noptions ndots:5\n"));
    }

    [Test]
    public void WithoutDnsConfigThePodGetsTheHostsResolvConf()
    {
        var host = File.Exists("/etc/resolv.conf") ? File.ReadAllText("/etc/resolv.conf") : "";
        Assert.That(SandboxFileLayout.ResolvConfText(null), Is.EqualTo(host));
        Assert.That(SandboxFileLayout.ResolvConfText(new DNSConfig()), Is.EqualTo(host));
    }

    [Test]
    public void ASandboxNameIsUniqueByPodAndAttempt()
    {
        var metadata = new PodSandboxMetadata { Name = "web", Namespace = "default", Uid = "u1", Attempt = 2 };
        Assert.That(SandboxManager.NameOf(metadata), Is.EqualTo("web_default_u1_2"));
        Assert.That(SandboxManager.NameOf(null), Is.Empty);
    }
}

public sealed class StopSignalTests
{
    [TestCase("SIGTERM", 15u)]
    [TestCase("TERM", 15u)]
    [TestCase("Sigquit", 3u)]
    [TestCase("9", 9u)]
    [TestCase("SIGRTMIN+3", 37u)]
    [TestCase("Sigrtminplus3", 37u)]
    [TestCase("SIGRTMAX-1", 63u)]
    [TestCase("NOPE", null)]
    [TestCase("65", null)]
    public void NamesAndNumbersParse(string text, uint? number) =>
        Assert.That(Containerd.Daemon.Cri.Common.StopSignals.Parse(text), Is.EqualTo(number));

    [Test]
    public void TheConfigWinsThenTheImageThenSigterm()
    {
        var image = Containerd.Shared.Oci.ImageConfig.Parse("""{"config":{"StopSignal":"SIGQUIT"}}"""u8).StopSignal;
        Assert.That(Containerd.Daemon.Cri.Common.StopSignals.Of(Runtime.V1.Signal.Sigusr1, image), Is.EqualTo(10u));
        Assert.That(Containerd.Daemon.Cri.Common.StopSignals.Of(Runtime.V1.Signal.RuntimeDefault, image), Is.EqualTo(3u));
        Assert.That(Containerd.Daemon.Cri.Common.StopSignals.Of(Runtime.V1.Signal.RuntimeDefault, Containerd.Shared.Oci.ImageConfig.Parse("{}"u8).StopSignal), Is.EqualTo(15u));
    }
}
