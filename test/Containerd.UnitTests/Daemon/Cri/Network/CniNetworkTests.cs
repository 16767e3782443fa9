using System.Text.Json.Nodes;
using Containerd.Daemon.Cri.Network;
using Microsoft.Extensions.Logging.Abstractions;

namespace Containerd.UnitTests.Daemon.Cri.Network;

/// <summary>
/// The plugin driver against shell-script plugins that record what they were
/// given (command, CNI_* environment, stdin) and print a canned result: no root,
/// no namespace, so the CNI protocol itself is what is checked.
/// </summary>
public sealed class CniNetworkTests
{
    private string _root = "";
    private string _conf = "";
    private string _bin = "";
    private string _log = "";
    private string _cache = "";

    private const string EthResult =
        """{"cniVersion":"1.0.0","interfaces":[{"name":"br0"},{"name":"eth0","sandbox":"/ns"}],"ips":[{"interface":1,"address":"10.99.0.7/24","gateway":"10.99.0.1"}]}""";

    [SetUp]
    public void SetUp()
    {
        _root = Directory.CreateTempSubdirectory("cni-driver-").FullName;
        _conf = Directory.CreateDirectory(Path.Combine(_root, "conf")).FullName;
        _bin = Directory.CreateDirectory(Path.Combine(_root, "bin")).FullName;
        _log = Directory.CreateDirectory(Path.Combine(_root, "log")).FullName;
        _cache = Path.Combine(_root, "cache");
        Plugin("loopback", """[ "$CNI_COMMAND" = ADD ] && echo '{"cniVersion":"0.3.1","interfaces":[{"name":"lo","sandbox":"/ns"}],"ips":[{"version":"4","interface":0,"address":"127.0.0.1/8"}]}'""");
        Plugin("fakeip", $"[ \"$CNI_COMMAND\" = ADD ] && echo '{EthResult}'");
        Plugin("fakepass", $"[ \"$CNI_COMMAND\" = ADD ] && echo '{EthResult.Replace("10.99.0.7", "10.99.0.8")}'");
        Plugin("fail", """if [ "$CNI_COMMAND" = ADD ]; then echo '{"cniVersion":"1.0.0","code":7,"msg":"bad thing","details":"in detail"}'; exit 1; fi""");
        Plugin("gone", """echo '{"code":999,"msg":"link cni-x not found"}'; exit 1""");
        // A child of its own (named under the test's directory) so that killing the tree is checked too.
        Plugin("slow", "cp /bin/sleep \"$log/sleeper\" && \"$log/sleeper\" 30");
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_root, recursive: true);

    private void Plugin(string name, string body)
    {
        var path = Path.Combine(_bin, name);
        File.WriteAllText(path, $$"""
            #!/bin/sh
            input=$(cat)
            log='{{_log}}'
            echo "$CNI_COMMAND {{name}} $CNI_IFNAME" >> "$log/calls"
            printf '%s' "$input" > "$log/$CNI_COMMAND-{{name}}-$CNI_IFNAME.json"
            env | grep '^CNI_' | sort > "$log/$CNI_COMMAND-{{name}}-$CNI_IFNAME.env"
            {{body}}
            exit 0
            """);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    private void Conf(string version, params string[] plugins) =>
        File.WriteAllText(Path.Combine(_conf, "10-test.conflist"),
            $$"""{"cniVersion":"{{version}}","name":"testnet","plugins":[{{string.Join(",", plugins.Select(p => $"{{\"type\":\"{p}\",\"capabilities\":{{\"portMappings\":true}}}}"))}}]}""");

    private CniNetwork Network(TimeSpan? timeout = null) => new(
        new CniOptions { ConfDir = _conf, PluginDirs = [Path.Combine(_root, "nothing-here"), _bin], CacheDir = _cache, PluginTimeout = timeout ?? TimeSpan.FromSeconds(20) },
        NullLogger<CniNetwork>.Instance);

    private static PodNetworkRequest Request(string netns = "/nonexistent/netns") =>
        new("sb-1", netns, "web", "ns1", "uid-9", [new PortMapping(80, 8080)]);

    private string[] Calls() => File.Exists(Path.Combine(_log, "calls")) ? File.ReadAllLines(Path.Combine(_log, "calls")) : [];

    private JsonObject Input(string command, string plugin, string ifName) =>
        (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(_log, $"{command}-{plugin}-{ifName}.json")))!;

    private Dictionary<string, string> Env(string command, string plugin, string ifName) =>
        File.ReadAllLines(Path.Combine(_log, $"{command}-{plugin}-{ifName}.env"))
            .Select(l => l.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);

    [Test]
    public async Task Set_up_attaches_loopback_then_the_network_chaining_results()
    {
        Conf("1.0.0", "fakeip", "fakepass");

        var pod = await Network().SetUpAsync(Request(), CancellationToken.None);

        Assert.That(Calls(), Is.EqualTo(new[] { "ADD loopback lo", "ADD fakeip eth0", "ADD fakepass eth0" }));
        Assert.That(pod.InterfaceName, Is.EqualTo("eth0"));
        Assert.That(pod.PrimaryIp, Is.EqualTo("10.99.0.8"), "the last plugin's result is the network's");
        Assert.That(pod.Ips.Single().Cidr, Is.EqualTo("10.99.0.8/24"));

        var fakeip = Input("ADD", "fakeip", "eth0");
        var fakepass = Input("ADD", "fakepass", "eth0");
        Assert.That(fakeip.ContainsKey("prevResult"), Is.False);
        Assert.That(JsonNode.DeepEquals(fakepass["prevResult"], JsonNode.Parse(EthResult)), Is.True, fakepass.ToJsonString());
        Assert.That(fakepass["name"]!.GetValue<string>(), Is.EqualTo("testnet"));
        Assert.That(fakepass["runtimeConfig"]!["portMappings"]![0]!["hostPort"]!.GetValue<int>(), Is.EqualTo(8080));
        Assert.That(Input("ADD", "loopback", "lo")["name"]!.GetValue<string>(), Is.EqualTo("cni-loopback"));

        var env = Env("ADD", "fakeip", "eth0");
        Assert.That(env["CNI_COMMAND"], Is.EqualTo("ADD"));
        Assert.That(env["CNI_CONTAINERID"], Is.EqualTo("sb-1"));
        Assert.That(env["CNI_NETNS"], Is.EqualTo("/nonexistent/netns"));
        Assert.That(env["CNI_IFNAME"], Is.EqualTo("eth0"));
        Assert.That(env["CNI_PATH"], Is.EqualTo(Path.Combine(_root, "nothing-here") + ":" + _bin));
        Assert.That(env["CNI_ARGS"], Is.EqualTo("IgnoreUnknown=1;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=sb-1;K8S_POD_UID=uid-9"));
        Assert.That(Directory.GetFiles(_cache).Select(Path.GetFileName), Is.EquivalentTo(new[] { "sb-1-eth0.json", "sb-1-lo.json" }));
    }

    [Test]
    public async Task Tear_down_deletes_in_reverse_with_the_cached_result_and_is_idempotent()
    {
        Conf("1.0.0", "fakeip", "fakepass");
        var network = Network();
        await network.SetUpAsync(Request(), CancellationToken.None);
        // The operator changes the config meanwhile: the pod is still deleted with what added it.
        File.Delete(Path.Combine(_conf, "10-test.conflist"));
        File.Delete(Path.Combine(_log, "calls"));

        await network.TearDownAsync(Request(), CancellationToken.None);

        Assert.That(Calls(), Is.EqualTo(new[] { "DEL fakepass eth0", "DEL fakeip eth0", "DEL loopback lo" }));
        var del = Input("DEL", "fakeip", "eth0");
        Assert.That(JsonNode.DeepEquals(del["prevResult"], JsonNode.Parse(EthResult.Replace("10.99.0.7", "10.99.0.8"))), Is.True, del.ToJsonString());
        Assert.That(del["runtimeConfig"]!["portMappings"]![0]!["containerPort"]!.GetValue<int>(), Is.EqualTo(80), "portmap finds its rules by them");
        Assert.That(Input("DEL", "loopback", "lo").ContainsKey("prevResult"), Is.False, "0.3.1 DEL takes no prevResult");
        Assert.That(Env("DEL", "fakeip", "eth0")["CNI_NETNS"], Is.Empty, "a namespace that is gone is passed empty");
        Assert.That(Directory.GetFiles(_cache), Is.Empty);

        // Again, with nothing cached and no config: only loopback (built in) runs, and it succeeds.
        File.Delete(Path.Combine(_log, "calls"));
        await network.TearDownAsync(Request(), CancellationToken.None);
        Assert.That(Calls(), Is.EqualTo(new[] { "DEL loopback lo" }));
    }

    [Test]
    public async Task A_failing_plugin_names_itself_and_what_was_added_is_deleted()
    {
        Conf("0.4.0", "fakeip", "fail");

        var e = Assert.ThrowsAsync<CniException>(() => Network().SetUpAsync(Request(), CancellationToken.None));

        Assert.That(e!.Failure, Is.EqualTo(CniFailure.PluginFailed));
        Assert.That(e.Message, Is.EqualTo("plugin type=\"fail\" network \"testnet\" failed (add): bad thing; in detail (CNI error code 7)"));
        Assert.That(Calls(), Is.EqualTo(new[]
        {
            "ADD loopback lo", "ADD fakeip eth0", "ADD fail eth0",
            "DEL fail eth0", "DEL fakeip eth0", "DEL loopback lo",
        }));
        Assert.That(Directory.GetFiles(_cache), Is.Empty);
        await Task.CompletedTask;
    }

    [Test]
    public async Task Not_found_at_delete_counts_as_deleted()
    {
        Conf("1.0.0", "fakeip", "gone");
        Assert.ThrowsAsync<CniException>(() => Network().SetUpAsync(Request(), CancellationToken.None));
        await Network().TearDownAsync(Request(), CancellationToken.None);
        Assert.That(Directory.GetFiles(_cache), Is.Empty);
    }

    [Test]
    public void A_plugin_over_its_time_is_killed_and_reported()
    {
        Conf("1.0.0", "slow");

        var e = Assert.ThrowsAsync<CniException>(() => Network(TimeSpan.FromSeconds(5)).SetUpAsync(Request(), CancellationToken.None));

        Assert.That(e!.Failure, Is.EqualTo(CniFailure.Timeout));
        Assert.That(e.Message, Does.Contain("plugin type=\"slow\" network \"testnet\" failed (add): did not finish within 5 s"));
        // SIGKILL is sent to both at once; give the kernel a moment to finish them.
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (ProcessesMentioning(_root).Count > 0 && DateTime.UtcNow < deadline)
            Thread.Sleep(50);
        Assert.That(ProcessesMentioning(_root), Is.Empty, "the plugin and its child are gone");
    }

    [Test]
    public void A_missing_plugin_says_where_it_was_looked_for()
    {
        Conf("1.0.0", "nosuchplugin");
        var e = Assert.ThrowsAsync<CniException>(() => Network().SetUpAsync(Request(), CancellationToken.None));
        Assert.That(e!.Failure, Is.EqualTo(CniFailure.PluginNotFound));
        Assert.That(e.Message, Does.Contain("failed to find plugin \"nosuchplugin\" in path [" + Path.Combine(_root, "nothing-here") + " " + _bin + "]"));
    }

    [Test]
    public void Without_a_config_set_up_is_refused_as_not_ready()
    {
        var network = Network();
        Assert.That(network.Status().Ready, Is.False);
        var e = Assert.ThrowsAsync<CniException>(() => network.SetUpAsync(Request(), CancellationToken.None));
        Assert.That(e!.Failure, Is.EqualTo(CniFailure.NotReady));
        Assert.That(e.Message, Does.Contain("cni plugin not initialized"));
        Assert.That(Calls(), Is.Empty);
    }

    [Test]
    public void A_sandbox_id_cni_would_refuse_is_an_invalid_request()
    {
        Conf("1.0.0", "fakeip");
        var e = Assert.ThrowsAsync<CniException>(() => Network().SetUpAsync(Request() with { SandboxId = "../x" }, CancellationToken.None));
        Assert.That(e!.Failure, Is.EqualTo(CniFailure.InvalidRequest));
    }

    private static List<string> ProcessesMentioning(string text)
    {
        var found = new List<string>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out _))
                continue;
            try
            {
                var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                if (cmdline.Contains(text, StringComparison.Ordinal))
                    found.Add($"{Path.GetFileName(dir)}: {cmdline}");
            }
            catch (IOException)
            {
            }
        }
        return found;
    }
}
