using System.Diagnostics;
using Containerd.Daemon.Cri.Network;
using Microsoft.Extensions.Logging.Abstractions;

namespace Containerd.Tests.Cri;

/// <summary>
/// Pod networking for real: network namespaces made by <see cref="NetworkNamespace"/>,
/// attached by <see cref="CniNetwork"/> with Debian's reference plugins (bridge,
/// host-local, portmap, loopback) to a bridge and a private subnet of the test's
/// own. Everything lives under a temporary directory (config, IPAM data, netns
/// files, cache) except the bridge and veths, which are named uniquely and
/// removed; traffic only goes from one of the test's namespaces to the other.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class CniNetworkTests
{
    private static readonly string[] PluginDirs = ["/opt/cni/bin", "/usr/lib/cni"];

    private string _dir = null!;
    private string _conf = null!;
    private string _ipam = null!;
    private string _netnsDir = null!;
    private string _bridge = null!;
    private string _networkName = null!;
    private int _subnet;
    private CniNetwork _cni = null!;
    private readonly List<PodNetworkRequest> _pods = [];

    [SetUp]
    public void SetUp()
    {
        if (!PluginDirs.Any(d => File.Exists(Path.Combine(d, "bridge"))))
            Assert.Ignore("no CNI plugins in /opt/cni/bin or /usr/lib/cni: scripts/install-deps.sh --test installs them (package containernetworking-plugins)");

        _dir = Directory.CreateTempSubdirectory("cni-it-").FullName;
        _conf = Directory.CreateDirectory(Path.Combine(_dir, "net.d")).FullName;
        _ipam = Path.Combine(_dir, "ipam");
        _netnsDir = Path.Combine(_dir, "netns");
        var suffix = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray())[..6];
        _bridge = "cni-t" + suffix;
        _networkName = "cnitest-" + suffix;
        _subnet = FreeSubnet();
        _cni = new CniNetwork(new CniOptions { ConfDir = _conf, PluginDirs = PluginDirs, CacheDir = Path.Combine(_dir, "cache") }, NullLogger<CniNetwork>.Instance);
        _pods.Clear();
    }

    [TearDown]
    public async Task TearDown()
    {
        if (_dir is null)
            return;
        // Whatever a failed test left: pods, namespaces, the bridge.
        foreach (var pod in _pods)
        {
            try
            {
                await _cni.TearDownAsync(pod, CancellationToken.None);
            }
            catch (CniException e)
            {
                TestContext.Out.WriteLine($"cleanup of {pod.SandboxId}: {e.Message}");
            }
            NetworkNamespace.Remove(pod.NetnsPath);
        }
        await RunAsync("ip", "link", "del", _bridge);
        Assert.That(File.ReadAllText("/proc/self/mountinfo"), Does.Not.Contain(_dir), "no namespace stays mounted");
        Directory.Delete(_dir, recursive: true);
        Assert.That((await RunAsync("ip", "-o", "link", "show")).Stdout, Does.Not.Contain(_bridge), "the bridge is gone");
    }

    private string Subnet => $"10.22.{_subnet}";

    /// <summary>A /24 in 10.22.0.0/16 that no route on this host covers yet, so the test's subnet is its own.</summary>
    private static int FreeSubnet()
    {
        var routes = RunAsync("ip", "-4", "route", "show", "table", "all").GetAwaiter().GetResult().Stdout;
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var n = Random.Shared.Next(1, 255);
            if (!routes.Contains($"10.22.{n}.", StringComparison.Ordinal))
                return n;
        }
        throw new InvalidOperationException("no free 10.22.N.0/24 subnet");
    }

    private void WriteConfig() => File.WriteAllText(Path.Combine(_conf, "10-test.conflist"), $$"""
        {
          "cniVersion": "1.0.0",
          "name": "{{_networkName}}",
          "plugins": [
            {
              "type": "bridge",
              "bridge": "{{_bridge}}",
              "isGateway": false,
              "ipMasq": false,
              "ipam": { "type": "host-local", "ranges": [[{ "subnet": "{{Subnet}}.0/24" }]], "dataDir": "{{_ipam}}" }
            },
            { "type": "portmap", "capabilities": { "portMappings": true } }
          ]
        }
        """);

    private PodNetworkRequest NewPod(string name)
    {
        var pod = new PodNetworkRequest("sb" + Guid.NewGuid().ToString("N"), NetworkNamespace.Create(_netnsDir), name, "cni-test", Guid.NewGuid().ToString());
        _pods.Add(pod);
        return pod;
    }

    [Test]
    public async Task Two_pods_get_addresses_on_the_bridge_and_reach_each_other_and_teardown_frees_everything()
    {
        WriteConfig();
        Assert.That(_cni.Status().Ready, Is.True, _cni.Status().Detail);
        var a = NewPod("a");
        var b = NewPod("b");

        var netA = await _cni.SetUpAsync(a, CancellationToken.None);
        var netB = await _cni.SetUpAsync(b, CancellationToken.None);

        foreach (var (pod, net) in new[] { (a, netA), (b, netB) })
        {
            Assert.That(net.InterfaceName, Is.EqualTo("eth0"));
            Assert.That(net.PrimaryIp, Does.StartWith(Subnet + "."));
            Assert.That(net.Ips.Single().Cidr, Is.EqualTo(net.PrimaryIp + "/24"));
            var eth0 = await InNetnsAsync(pod.NetnsPath, "ip", "-o", "addr", "show", "dev", "eth0");
            Assert.That(eth0, Does.Contain($"inet {net.PrimaryIp}/24"));
            var lo = await InNetnsAsync(pod.NetnsPath, "ip", "-o", "link", "show", "dev", "lo");
            Assert.That(lo, Does.Contain(",UP"), "the loopback network brought lo up");
            Assert.That(File.Exists(Path.Combine(_ipam, _networkName, net.PrimaryIp)), Is.True, "host-local holds the address");
        }
        Assert.That(netA.PrimaryIp, Is.Not.EqualTo(netB.PrimaryIp));
        var vethA = HostVeth(netA);
        var vethB = HostVeth(netB);
        Assert.That((await RunAsync("ip", "-o", "link", "show", "master", _bridge)).Stdout, Does.Contain(vethA).And.Contain(vethB));

        var ping = PingCommand();
        if (ping is not null)
        {
            var (exit, stdout, stderr) = await RunAsync("nsenter", [$"--net={a.NetnsPath}", .. ping, "-c1", "-W2", netB.PrimaryIp]);
            Assert.That(exit, Is.EqualTo(0), $"ping from pod a to pod b: {stdout} {stderr}");
        }
        else
        {
            TestContext.Out.WriteLine("no ping binary: reachability not checked");
        }

        await _cni.TearDownAsync(a, CancellationToken.None);
        await _cni.TearDownAsync(b, CancellationToken.None);

        foreach (var net in new[] { netA, netB })
            Assert.That(File.Exists(Path.Combine(_ipam, _networkName, net.PrimaryIp)), Is.False, $"{net.PrimaryIp} is free again");
        var links = (await RunAsync("ip", "-o", "link", "show")).Stdout;
        Assert.That(links, Does.Not.Contain(vethA + "@").And.Not.Contain(vethB + "@"), "the veths are gone");
        Assert.That(Directory.GetFiles(Path.Combine(_dir, "cache")), Is.Empty);

        // Idempotent, and then the namespaces go.
        await _cni.TearDownAsync(a, CancellationToken.None);
        foreach (var pod in new[] { a, b })
        {
            NetworkNamespace.Remove(pod.NetnsPath);
            Assert.That(NetworkNamespace.Exists(pod.NetnsPath), Is.False);
            Assert.That(File.Exists(pod.NetnsPath), Is.False);
        }
    }

    [Test]
    public async Task Teardown_after_the_namespace_is_gone_still_frees_the_address()
    {
        WriteConfig();
        var pod = NewPod("early-gone");
        var net = await _cni.SetUpAsync(pod, CancellationToken.None);
        Assert.That(File.Exists(Path.Combine(_ipam, _networkName, net.PrimaryIp)), Is.True);

        NetworkNamespace.Remove(pod.NetnsPath);
        await _cni.TearDownAsync(pod, CancellationToken.None);

        Assert.That(File.Exists(Path.Combine(_ipam, _networkName, net.PrimaryIp)), Is.False, "host-local released the address without the namespace");
        Assert.That(Directory.GetFiles(Path.Combine(_dir, "cache")), Is.Empty);
    }

    [Test]
    public void An_empty_conf_dir_is_not_ready()
    {
        var status = _cni.Status();
        Assert.That(status.Ready, Is.False);
        Assert.That(status.Reason, Is.EqualTo("NetworkPluginNotReady"));
        Assert.That(status.Message, Is.EqualTo("Network plugin returns error: cni plugin not initialized"));
    }

    [Test]
    public async Task A_network_namespace_is_a_mounted_file_with_only_lo_until_removed()
    {
        var path = NetworkNamespace.Create(_netnsDir);
        try
        {
            Assert.That(Path.GetFileName(path), Does.Match("^cni-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"));
            Assert.That(NetworkNamespace.Exists(path), Is.True);
            Assert.That(File.ReadAllText("/proc/self/mountinfo"), Does.Contain(path));
            var links = await InNetnsAsync(path, "ip", "-o", "link", "show");
            Assert.That(links.Trim().Split('\n'), Has.Length.EqualTo(1).And.All.Contain(": lo:"), "a new namespace has lo alone");
            var own = await RunAsync("readlink", "/proc/self/ns/net");
            var its = await RunAsync("nsenter", $"--net={path}", "readlink", "/proc/self/ns/net");
            Assert.That(its.Stdout, Is.Not.EqualTo(own.Stdout), "it is a namespace of its own");
            Assert.That(await RunAsync("readlink", $"/proc/{Environment.ProcessId}/ns/net"), Is.EqualTo(own), "the daemon's own threads stay in the host network");
        }
        finally
        {
            NetworkNamespace.Remove(path);
        }
        Assert.That(NetworkNamespace.Exists(path), Is.False);
        Assert.That(File.Exists(path), Is.False);
        Assert.That(File.ReadAllText("/proc/self/mountinfo"), Does.Not.Contain(path));
        NetworkNamespace.Remove(path);
        Assert.That(NetworkNamespace.Exists(Path.Combine(_dir, "absent")), Is.False);
    }

    private static string HostVeth(PodNetwork net)
    {
        var result = CniResult.Parse(net.ResultJson);
        var veth = result.Interfaces.FirstOrDefault(i => string.IsNullOrEmpty(i.Sandbox) && i.Name.StartsWith("veth", StringComparison.Ordinal));
        Assert.That(veth, Is.Not.Null, "the bridge result names the host side veth: " + net.ResultJson);
        return veth!.Name;
    }

    private static string[]? PingCommand()
    {
        foreach (var ping in new[] { "/usr/bin/ping", "/bin/ping" })
        {
            if (File.Exists(ping))
                return [ping];
        }
        foreach (var busybox in new[] { "/usr/bin/busybox", "/bin/busybox" })
        {
            if (File.Exists(busybox))
                return [busybox, "ping"];
        }
        return null;
    }

    private static async Task<string> InNetnsAsync(string netns, params string[] command)
    {
        var (exit, stdout, stderr) = await RunAsync("nsenter", [$"--net={netns}", .. command]);
        Assert.That(exit, Is.EqualTo(0), $"nsenter --net={netns} {string.Join(' ', command)}: {stderr}");
        return stdout;
    }

    private static async Task<(int Exit, string Stdout, string Stderr)> RunAsync(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }
}
