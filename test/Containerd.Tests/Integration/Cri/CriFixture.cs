using Containerd.Shared.Grpc;
using Containerd.Tests.Support;
using Grpc.Net.Client;
using Runtime.V1;

namespace Containerd.Tests.Integration.Cri;

/// <summary>
/// A daemon with the CRI configured as a kubelet node would have it: the test
/// registry's pause image as sandbox image, Debian's CNI plugins, and a bridge
/// network of the fixture's own (a unique bridge name and subnet, IPAM state and
/// network namespaces in the fixture's directory), so fixtures never share a
/// network and all traffic stays between namespaces the test made.
/// </summary>
public abstract class CriFixture : DaemonFixture
{
    private GrpcChannel _channel = null!;

    protected TestImages Images { get; private set; } = null!;

    protected RuntimeService.RuntimeServiceClient Runtime { get; private set; } = null!;

    protected ImageService.ImageServiceClient ImageClient { get; private set; } = null!;

    protected string Bridge { get; private set; } = "";

    /// <summary>The pod network's first three octets, e.g. "10.23.117".</summary>
    protected string SubnetPrefix { get; private set; } = "";

    protected string CriDir { get; private set; } = "";

    protected string NetnsDir => Path.Combine(CriDir, "netns");

    protected string LogDir => Path.Combine(CriDir, "logs");

    [OneTimeSetUp]
    public async Task ConfigureCriAsync()
    {
        Images = await TestImages.GetAsync(CancellationToken.None);
        CriDir = Directory.CreateTempSubdirectory("ctrd-cri-").FullName;
        var suffix = Guid.NewGuid().ToString("N")[..6];
        Bridge = $"crit{suffix}";
        SubnetPrefix = $"10.23.{Random.Shared.Next(1, 254)}";
        var confDir = Path.Combine(CriDir, "net.d");
        Directory.CreateDirectory(confDir);
        Directory.CreateDirectory(NetnsDir);
        Directory.CreateDirectory(LogDir);
        await File.WriteAllTextAsync(Path.Combine(confDir, "10-test.conflist"), $$"""
            {
              "cniVersion": "1.0.0",
              "name": "crit-{{suffix}}",
              "plugins": [
                {
                  "type": "bridge",
                  "bridge": "{{Bridge}}",
                  "isGateway": false,
                  "ipMasq": false,
                  "ipam": {
                    "type": "host-local",
                    "dataDir": "{{Path.Combine(CriDir, "ipam")}}",
                    "ranges": [[{ "subnet": "{{SubnetPrefix}}.0/24" }]]
                  }
                },
                { "type": "portmap", "capabilities": { "portMappings": true } }
              ]
            }
            """);
        var config = Path.Combine(CriDir, "config.toml");
        await File.WriteAllTextAsync(config, $"""
            [cri]
            sandbox_image = "{Images.Pause.Reference(Images.Plain)}"
            cni_bin_dir = "/usr/lib/cni"
            cni_conf_dir = "{confDir}"
            netns_dir = "{NetnsDir}"
            """);
        await Daemon.StopAsync();
        await Daemon.RestartAsync(new DaemonStartOptions(Arguments: ["--config", config]));
        _channel = UnixSocketChannel.Create(Daemon.Address);
        Runtime = new RuntimeService.RuntimeServiceClient(_channel);
        ImageClient = new ImageService.ImageServiceClient(_channel);
    }

    [OneTimeTearDown]
    public async Task RemoveCriAsync()
    {
        _channel?.Dispose();
        // Whatever a failed test left: pods first (the daemon tears their networks down), then the bridge.
        try
        {
            if (Daemon.ExitCode is null)
            {
                using var channel = UnixSocketChannel.Create(Daemon.Address);
                var runtime = new RuntimeService.RuntimeServiceClient(channel);
                foreach (var pod in (await runtime.ListPodSandboxAsync(new ListPodSandboxRequest())).Items)
                    await runtime.RemovePodSandboxAsync(new RemovePodSandboxRequest { PodSandboxId = pod.Id });
            }
        }
        catch (Exception e)
        {
            TestContext.Progress.WriteLine($"CRI fixture cleanup: {e.Message}");
        }
        Leaks.Run("ip", "link", "delete", Bridge);
        if (CriDir.Length > 0)
            Directory.Delete(CriDir, recursive: true);
    }

    /// <summary>Every veth still enslaved to the fixture's bridge, and every network namespace file left.</summary>
    protected IReadOnlyList<string> NetworkLeftovers()
    {
        var found = new List<string>();
        var links = Leaks.Run("ip", "-o", "link", "show", "master", Bridge);
        found.AddRange(links.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.Contains(": <", StringComparison.Ordinal)).Select(l => "veth: " + l));
        if (Directory.Exists(NetnsDir))
            found.AddRange(Directory.GetFiles(NetnsDir).Select(f => "network namespace " + f));
        return found;
    }

    protected static PodSandboxConfig PodConfig(string name, string logDirectory) => new()
    {
        Metadata = new PodSandboxMetadata { Name = name, Namespace = "default", Uid = Guid.NewGuid().ToString(), Attempt = 0 },
        Hostname = name,
        LogDirectory = logDirectory,
        DnsConfig = new DNSConfig { Servers = { "10.96.0.10" }, Searches = { "default.svc.cluster.local" }, Options = { "ndots:5" } },
        Labels = { ["app"] = name },
        Annotations = { ["test"] = "cri" },
        Linux = new LinuxPodSandboxConfig(),
    };
}
