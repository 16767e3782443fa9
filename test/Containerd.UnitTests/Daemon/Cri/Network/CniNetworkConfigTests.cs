using Containerd.Daemon.Cri.Network;
using Microsoft.Extensions.Logging.Abstractions;

namespace Containerd.UnitTests.Daemon.Cri.Network;

public sealed class CniNetworkConfigTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("cni-conf-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private const string Bridge = """{"cniVersion":"1.0.0","name":"podnet","plugins":[{"type":"bridge","bridge":"cni0","ipam":{"type":"host-local"}},{"type":"portmap","capabilities":{"portMappings":true}}]}""";

    [Test]
    public void A_conflist_keeps_its_plugins_in_order_with_every_key()
    {
        var config = CniNetworkConfig.ParseList(Bridge, "x.conflist");
        Assert.That(config.Name, Is.EqualTo("podnet"));
        Assert.That(config.CniVersion, Is.EqualTo("1.0.0"));
        Assert.That(config.Plugins.Select(p => p["type"]!.GetValue<string>()), Is.EqualTo(new[] { "bridge", "portmap" }));
        Assert.That(config.Plugins[0]["ipam"]!["type"]!.GetValue<string>(), Is.EqualTo("host-local"));
    }

    [Test]
    public void A_single_plugin_conf_is_wrapped_into_a_list_of_one()
    {
        var config = CniNetworkConfig.ParseSingle("""{"cniVersion":"0.4.0","name":"one","type":"bridge","bridge":"br9"}""", "10-one.conf");
        Assert.That(config.Name, Is.EqualTo("one"));
        Assert.That(config.CniVersion, Is.EqualTo("0.4.0"));
        Assert.That(config.Plugins, Has.Count.EqualTo(1));
        Assert.That(config.Plugins[0]["bridge"]!.GetValue<string>(), Is.EqualTo("br9"));
        var list = System.Text.Json.Nodes.JsonNode.Parse(config.Json)!;
        Assert.That(list["plugins"]![0]!["type"]!.GetValue<string>(), Is.EqualTo("bridge"));
        Assert.That(list["name"]!.GetValue<string>(), Is.EqualTo("one"));
    }

    [TestCase("""{"name":"n","plugins":[{"type":"bridge"}]}""", "no \"cniVersion\"")]
    [TestCase("""{"cniVersion":"9.9.9","name":"n","plugins":[{"type":"bridge"}]}""", "unsupported cniVersion \"9.9.9\"")]
    [TestCase("""{"cniVersion":"1.0.0","plugins":[{"type":"bridge"}]}""", "no \"name\"")]
    [TestCase("""{"cniVersion":"1.0.0","name":"bad name","plugins":[{"type":"bridge"}]}""", "invalid network name")]
    [TestCase("""{"cniVersion":"1.0.0","name":"n"}""", "no \"plugins\" list")]
    [TestCase("""{"cniVersion":"1.0.0","name":"n","plugins":[]}""", "\"plugins\" is empty")]
    [TestCase("""{"cniVersion":"1.0.0","name":"n","plugins":[{"bridge":"x"}]}""", "plugins[0] has no \"type\"")]
    [TestCase("""{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"../../bin/sh"}]}""", "invalid \"type\"")]
    [TestCase("""[1,2]""", "not a JSON object")]
    [TestCase("""{"cniVersion":""", "not JSON")]
    public void An_invalid_list_is_refused_with_the_reason(string json, string reason)
    {
        var e = Assert.Throws<FormatException>(() => CniNetworkConfig.ParseList(json, "x.conflist"));
        Assert.That(e!.Message, Does.Contain(reason));
    }

    [Test]
    public void A_list_saved_as_conf_is_refused_with_a_hint()
    {
        var e = Assert.Throws<FormatException>(() => CniNetworkConfig.ParseSingle(Bridge, "x.conf"));
        Assert.That(e!.Message, Does.Contain(".conflist"));
    }

    [Test]
    public void The_first_file_in_lexical_order_wins_and_other_extensions_are_ignored()
    {
        File.WriteAllText(Path.Combine(_dir, "20-b.conflist"), Bridge.Replace("podnet", "second"));
        File.WriteAllText(Path.Combine(_dir, "10-a.json"), """{"cniVersion":"0.3.1","name":"first","type":"ptp"}""");
        File.WriteAllText(Path.Combine(_dir, "00-z.yaml"), "not a CNI file");
        Directory.CreateDirectory(Path.Combine(_dir, "05-dir.conf"));

        var (config, status) = new CniConfigLoader(_dir, NullLogger.Instance).Load();

        Assert.That(status.Ready, Is.True, status.Detail);
        Assert.That(config!.Name, Is.EqualTo("first"));
        Assert.That(config.Plugins[0]["type"]!.GetValue<string>(), Is.EqualTo("ptp"));
        Assert.That(config.Source, Is.EqualTo(Path.Combine(_dir, "10-a.json")));
    }

    [Test]
    public void An_invalid_file_is_skipped_for_the_next_one()
    {
        File.WriteAllText(Path.Combine(_dir, "10-broken.conflist"), """{"cniVersion":"1.0.0","name":"broken","plugins":[]}""");
        File.WriteAllText(Path.Combine(_dir, "20-good.conflist"), Bridge);

        var (config, status) = new CniConfigLoader(_dir, NullLogger.Instance).Load();

        Assert.That(status.Ready, Is.True);
        Assert.That(config!.Name, Is.EqualTo("podnet"));
    }

    [Test]
    public void No_valid_file_is_not_ready_with_containerds_reason_and_message()
    {
        File.WriteAllText(Path.Combine(_dir, "10-broken.conf"), """{"cniVersion":"1.0.0","name":"broken"}""");

        var (config, status) = new CniConfigLoader(_dir, NullLogger.Instance).Load();

        Assert.That(config, Is.Null);
        Assert.That(status.Ready, Is.False);
        Assert.That(status.Reason, Is.EqualTo("NetworkPluginNotReady"));
        Assert.That(status.Message, Is.EqualTo("Network plugin returns error: cni plugin not initialized"));
        Assert.That(status.Detail, Does.Contain("10-broken.conf").And.Contain("no \"type\""));
    }

    [Test]
    public void An_empty_or_absent_directory_is_not_ready()
    {
        var (_, empty) = new CniConfigLoader(_dir, NullLogger.Instance).Load();
        var (_, absent) = new CniConfigLoader(Path.Combine(_dir, "absent"), NullLogger.Instance).Load();
        Assert.That(empty.Ready, Is.False);
        Assert.That(empty.Detail, Does.Contain("no network config found in " + _dir));
        Assert.That(absent.Ready, Is.False);
    }

    [Test]
    public void A_change_in_the_directory_applies_on_the_next_call()
    {
        var loader = new CniConfigLoader(_dir, NullLogger.Instance);
        Assert.That(loader.Load().Status.Ready, Is.False);
        File.WriteAllText(Path.Combine(_dir, "10.conflist"), Bridge);
        Assert.That(loader.Load().Status.Ready, Is.True);
        File.Delete(Path.Combine(_dir, "10.conflist"));
        Assert.That(loader.Load().Status.Ready, Is.False);
    }
}
