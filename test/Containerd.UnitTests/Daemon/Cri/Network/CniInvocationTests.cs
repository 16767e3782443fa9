using System.Text.Json.Nodes;
using Containerd.Daemon.Cri.Network;

namespace Containerd.UnitTests.Daemon.Cri.Network;

public sealed class CniInvocationTests
{
    private static readonly CniNetworkConfig Network = CniNetworkConfig.ParseList("""
        {"cniVersion":"1.0.0","name":"podnet","plugins":[
          {"type":"bridge","bridge":"cni0","runtimeConfig":{"kept":true}},
          {"type":"portmap","capabilities":{"portMappings":true,"bandwidth":false}}]}
        """, "test");

    private static PodNetworkRequest Request(params PortMapping[] ports) =>
        new("sb1", "/var/run/netns/cni-x", "web", "default", "uid-1", ports);

    [Test]
    public void Cni_args_carry_the_pod_as_containerd_passes_it()
    {
        Assert.That(CniInvocation.CniArgs(Request()), Is.EqualTo(
            "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=sb1;K8S_POD_UID=uid-1"));
    }

    [Test]
    public void Every_plugin_gets_the_lists_name_and_version_and_the_previous_result()
    {
        var prev = JsonNode.Parse("""{"cniVersion":"1.0.0","ips":[]}""")!;
        var config = CniInvocation.PluginConfig(Network, Network.Plugins[0], prev, new Dictionary<string, JsonNode>());
        Assert.That(config["name"]!.GetValue<string>(), Is.EqualTo("podnet"));
        Assert.That(config["cniVersion"]!.GetValue<string>(), Is.EqualTo("1.0.0"));
        Assert.That(config["bridge"]!.GetValue<string>(), Is.EqualTo("cni0"));
        Assert.That(JsonNode.DeepEquals(config["prevResult"], prev), Is.True);
        // Nothing to inject: the file's own runtimeConfig stays.
        Assert.That(config["runtimeConfig"]!["kept"]!.GetValue<bool>(), Is.True);

        var first = CniInvocation.PluginConfig(Network, Network.Plugins[0], null, new Dictionary<string, JsonNode>());
        Assert.That(first.ContainsKey("prevResult"), Is.False);
        // The loaded config is not changed by building a plugin's input.
        Assert.That(Network.Plugins[0].ContainsKey("name"), Is.False);
    }

    [Test]
    public void Port_mappings_go_to_plugins_with_the_capability_only()
    {
        var args = CniInvocation.CapabilityArgs(Request(
            new PortMapping(80, 8080),
            new PortMapping(53, 5353, PortProtocol.Udp, "127.0.0.1"),
            new PortMapping(9, 0, PortProtocol.Sctp),
            new PortMapping(36412, 36412, PortProtocol.Sctp)));

        var portmap = CniInvocation.PluginConfig(Network, Network.Plugins[1], null, args);
        var bridge = CniInvocation.PluginConfig(Network, Network.Plugins[0], null, args);

        Assert.That(JsonNode.DeepEquals(portmap["runtimeConfig"], JsonNode.Parse("""
            {"portMappings":[
              {"hostPort":8080,"containerPort":80,"protocol":"tcp"},
              {"hostPort":5353,"containerPort":53,"protocol":"udp","hostIP":"127.0.0.1"},
              {"hostPort":36412,"containerPort":36412,"protocol":"sctp"}]}
            """)), Is.True, portmap.ToJsonString());
        Assert.That(bridge["runtimeConfig"]!.ToJsonString(), Is.EqualTo("""{"kept":true}"""));
    }

    [Test]
    public void No_published_port_means_no_port_mappings_at_all()
    {
        Assert.That(CniInvocation.CapabilityArgs(Request()), Is.Empty);
        Assert.That(CniInvocation.CapabilityArgs(Request(new PortMapping(80, 0))), Is.Empty);
        var portmap = CniInvocation.PluginConfig(Network, Network.Plugins[1], null, CniInvocation.CapabilityArgs(Request()));
        Assert.That(portmap.ContainsKey("runtimeConfig"), Is.False);
    }

    [TestCase("0.3.1", false)]
    [TestCase("0.2.0", false)]
    [TestCase("0.4.0", true)]
    [TestCase("1.0.0", true)]
    public void Delete_gets_the_cached_result_from_0_4_0_on(string version, bool expected) =>
        Assert.That(CniInvocation.DeleteTakesPrevResult(version), Is.EqualTo(expected));

    [Test]
    public void A_plugins_error_json_becomes_a_message_naming_plugin_network_msg_and_details()
    {
        var e = CniPluginRunner.PluginError("bridge", "podnet", "add", 1,
            """{"cniVersion":"1.0.0","code":11,"msg":"failed to allocate for range 0","details":"no IP addresses available in range set"}""", "");
        Assert.That(e.Failure, Is.EqualTo(CniFailure.PluginFailed));
        Assert.That(e.Message, Is.EqualTo(
            "plugin type=\"bridge\" network \"podnet\" failed (add): failed to allocate for range 0; no IP addresses available in range set (CNI error code 11)"));
        Assert.That((e.Plugin, e.Network, e.Code, e.PluginMessage, e.Details),
            Is.EqualTo(("bridge", "podnet", (int?)11, "failed to allocate for range 0", "no IP addresses available in range set")));
    }

    [Test]
    public void A_plugin_failing_without_error_json_is_described_by_its_stderr_or_exit_status()
    {
        Assert.That(CniPluginRunner.PluginError("x", "n", "del", 2, "", "boom\n").Message,
            Is.EqualTo("plugin type=\"x\" network \"n\" failed (del): exit status 2: boom"));
        Assert.That(CniPluginRunner.PluginError("x", "n", "add", 3, "", "").Message,
            Is.EqualTo("plugin type=\"x\" network \"n\" failed (add): exit status 3 with no error message"));
        Assert.That(CniPluginRunner.PluginError("x", "n", "add", 1, "garbage", "").Message,
            Does.Contain("unreadable error garbage"));
    }
}
