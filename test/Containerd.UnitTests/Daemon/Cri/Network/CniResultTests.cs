using Containerd.Daemon.Cri.Network;

namespace Containerd.UnitTests.Daemon.Cri.Network;

public sealed class CniResultTests
{
    // As the bridge plugin prints it: the bridge, the host veth, then the pod's eth0.
    private const string Bridge100 = """
        {"cniVersion":"1.0.0",
         "interfaces":[{"name":"cni0","mac":"aa:aa:aa:aa:aa:aa"},{"name":"veth1","mac":"bb:bb:bb:bb:bb:bb"},{"name":"eth0","mac":"cc:cc:cc:cc:cc:cc","sandbox":"/var/run/netns/cni-1"}],
         "ips":[{"interface":2,"address":"10.22.7.5/24","gateway":"10.22.7.1"},{"interface":2,"address":"fd00:22::5/64"}],
         "routes":[{"dst":"0.0.0.0/0"}],"dns":{}}
        """;

    [Test]
    public void A_1_0_0_result_gives_the_pods_addresses_on_eth0()
    {
        var result = CniResult.Parse(Bridge100);
        Assert.That(result.Interfaces.Select(i => i.Name), Is.EqualTo(new[] { "cni0", "veth1", "eth0" }));
        Assert.That(result.Interfaces[2].Sandbox, Is.EqualTo("/var/run/netns/cni-1"));
        var ips = result.PodIps("eth0");
        Assert.That(ips, Is.EqualTo(new[]
        {
            new PodIp("10.22.7.5", "10.22.7.5/24", "10.22.7.1"),
            new PodIp("fd00:22::5", "fd00:22::5/64", null),
        }));
        Assert.That(result.PodIps("eth1"), Is.Empty);
    }

    [Test]
    public void A_0_4_0_or_0_3_1_result_with_versioned_ips_is_read_alike()
    {
        foreach (var version in new[] { "0.4.0", "0.3.1" })
        {
            var result = CniResult.Parse($$"""
                {"cniVersion":"{{version}}","interfaces":[{"name":"eth0","sandbox":"/n"}],
                 "ips":[{"version":"6","interface":0,"address":"fd00::9/64"},{"version":"4","interface":0,"address":"10.1.2.3/16","gateway":"10.1.0.1"}]}
                """);
            var ips = result.PodIps("eth0");
            // containerd's pod IP is the first IPv4 address; the rest keep their order.
            Assert.That(ips.Select(ip => ip.Address), Is.EqualTo(new[] { "10.1.2.3", "fd00::9" }), version);
            Assert.That(ips[0].Cidr, Is.EqualTo("10.1.2.3/16"));
            Assert.That(ips[0].IsIPv4, Is.True);
            Assert.That(ips[1].IsIPv4, Is.False);
        }
    }

    [Test]
    public void A_0_2_0_result_has_one_address_per_family_and_no_interfaces()
    {
        var result = CniResult.Parse("""{"cniVersion":"0.2.0","ip4":{"ip":"10.9.0.4/24","gateway":"10.9.0.1"},"ip6":{"ip":"fd09::4/64"}}""");
        Assert.That(result.PodIps("eth0").Select(ip => ip.Cidr), Is.EqualTo(new[] { "10.9.0.4/24", "fd09::4/64" }));
    }

    [Test]
    public void The_pod_network_reports_the_first_address_as_primary()
    {
        var network = new PodNetwork("eth0", CniResult.Parse(Bridge100).PodIps("eth0"), Bridge100);
        Assert.That(network.PrimaryIp, Is.EqualTo("10.22.7.5"));
        Assert.That(network.AdditionalIps, Is.EqualTo(new[] { "fd00:22::5" }));
        Assert.That(new PodNetwork("eth0", [], "{}").PrimaryIp, Is.Empty);
    }

    [TestCase("""{"interfaces":[],"ips":[{"interface":0,"address":"10.0.0.1/8"}]}""", "does not have")]
    [TestCase("""{"ips":[{"address":"10.0.0.1"}]}""", "CIDR")]
    [TestCase("""{"ips":[{"address":"10.0.0.1/33"}]}""", "CIDR")]
    [TestCase("""{"ips":[{"gateway":"10.0.0.1"}]}""", "no address")]
    [TestCase("""not json""", "not JSON")]
    [TestCase("""[]""", "not a JSON object")]
    public void A_malformed_result_is_refused_with_the_reason(string json, string reason)
    {
        var e = Assert.Throws<FormatException>(() => CniResult.Parse(json));
        Assert.That(e!.Message, Does.Contain(reason));
    }
}
