using Containerd.Daemon.Config;

namespace Containerd.UnitTests.Daemon.Hosting;

public sealed class ConfigFileTests
{
    private const string Source = "/etc/containerd-cs/config.toml";

    [Test]
    public void The_default_file_parses_back_to_the_defaults()
    {
        var text = ConfigFile.Render(DaemonConfig.Default);
        Assert.That(ConfigFile.Parse(text, Source), Is.EqualTo(DaemonConfig.Default));
    }

    [Test]
    public void The_default_file_states_every_key_with_a_comment()
    {
        var lines = ConfigFile.Render(DaemonConfig.Default).Split('\n');
        foreach (var key in ConfigKeys.All)
        {
            var at = Array.FindIndex(lines, l => l.StartsWith(key.LocalName + " = ", StringComparison.Ordinal));
            Assert.That(at, Is.GreaterThan(0), key.Name);
            Assert.That(lines[at - 1], Does.StartWith("# "), $"{key.Name} has a comment");
        }
        Assert.That(lines, Does.Contain("[timeouts]"));
        Assert.That(lines, Does.Contain("shim_ready = \"10s\""));
        Assert.That(lines, Does.Contain("event_ack_interval = \"100ms\""));
    }

    [Test]
    public void A_file_that_changes_every_key_round_trips()
    {
        var custom = new DaemonConfig(
            Address: "/srv/c \"quoted\"/c.sock", Root: "/srv/root", State: "/srv/state", Runtime: "/opt/crun",
            Shim: "my-shim", LogLevel: "debug",
            Timeouts: new DaemonTimeouts(
                TimeSpan.FromMilliseconds(1500), TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(6), TimeSpan.FromSeconds(7),
                TimeSpan.FromMinutes(2), TimeSpan.FromSeconds(9), TimeSpan.FromHours(1), TimeSpan.FromMilliseconds(250),
                TimeSpan.FromSeconds(11), TimeSpan.FromSeconds(12)),
            RegistryConfigPath: "/srv/certs.d",
            Cri: new CriConfig("127.0.0.1:5000/pause:1", "/usr/lib/cni:/srv/cni", "/srv/net.d", "/srv/netns", CriConfig.Default.MaxContainerLogLineSize));
        Assert.That(ConfigFile.Parse(ConfigFile.Render(custom), Source), Is.EqualTo(custom));
    }

    [Test]
    public void Missing_keys_keep_their_defaults()
    {
        var config = ConfigFile.Parse("""
            # only two keys
            root = "/data/ctd"

            [timeouts]
            shim_ready = "30s"
            """, Source);
        Assert.That(config, Is.EqualTo(DaemonConfig.Default with
        {
            Root = "/data/ctd",
            Timeouts = DaemonTimeouts.Default with { ShimReady = TimeSpan.FromSeconds(30) },
        }));
        Assert.That(ConfigFile.Parse("", Source), Is.EqualTo(DaemonConfig.Default));
    }

    [TestCase("\"10s\"", 10_000)]
    [TestCase("\"500ms\"", 500)]
    [TestCase("\"1m30s\"", 90_000)]
    [TestCase("\"1.5s\"", 1_500)]
    [TestCase("\"2h\"", 7_200_000)]
    [TestCase("2500", 2_500)]
    public void Durations_are_strings_or_milliseconds(string literal, int milliseconds)
    {
        var config = ConfigFile.Parse($"[timeouts]\nshim_delete = {literal}\n", Source);
        Assert.That(config.Timeouts.ShimDelete, Is.EqualTo(TimeSpan.FromMilliseconds(milliseconds)));
    }

    [Test]
    public void Dotted_keys_reach_the_table_too()
    {
        var config = ConfigFile.Parse("timeouts.host_shutdown = \"20s\"\n", Source);
        Assert.That(config.Timeouts.HostShutdown, Is.EqualTo(TimeSpan.FromSeconds(20)));
    }

    [TestCase("address = \"/a.sock\"\nadress = \"/b.sock\"\n", "2: unknown key \"adress\"")]
    [TestCase("\n\n[timeouts]\nshim_redy = \"1s\"\n", "4: unknown key \"timeouts.shim_redy\"")]
    [TestCase("root = \"/r\"\n[runtime_options]\nx = 1\n", "2: unknown table \"runtime_options\"")]
    [TestCase("[[timeouts]]\nshim_ready = \"1s\"\n", "1: unknown table \"timeouts\"")]
    [TestCase("timeouts = 3\n", "1: \"timeouts\" is a table: write [timeouts] and its keys below it")]
    [TestCase("[timeouts]\n\nshim_ready = \"abc\"\n", "3: timeouts.shim_ready: \"abc\" is not a duration")]
    [TestCase("[timeouts]\nshim_ready = \"10\"\n", "2: timeouts.shim_ready: \"10\" is not a duration")]
    [TestCase("[timeouts]\nshim_ready = 0\n", "2: timeouts.shim_ready: 0 is out of range (1ms to 24h)")]
    [TestCase("[timeouts]\nshim_ready = \"48h\"\n", "2: timeouts.shim_ready: \"48h\" is out of range (1ms to 24h)")]
    [TestCase("[timeouts]\nshim_ready = true\n", "2: timeouts.shim_ready: expected a duration (\"10s\", \"500ms\") or milliseconds, not a boolean")]
    [TestCase("root = 3\n", "1: root: expected a string, not the integer 3")]
    [TestCase("root = \"relative/dir\"\n", "1: root: \"relative/dir\" is not an absolute path")]
    [TestCase("log_level = \"verbose\"\n", "1: log_level: \"verbose\" is not one of debug, info, warning, error")]
    [TestCase("runtime = \"\"\n", "1: runtime: must not be empty")]
    [TestCase("root = \"/a\"\nroot = \"/b\"\n", "2: ")]
    public void A_bad_file_is_one_line_naming_the_file_the_line_and_the_key(string text, string expected)
    {
        var error = Assert.Throws<ConfigFileException>(() => ConfigFile.Parse(text, Source))!;
        Assert.That(error.Message, Does.StartWith($"{Source}:{expected}"));
        Assert.That(error.Message, Does.Not.Contain('\n'));
    }

    [Test]
    public void A_syntax_error_names_its_line()
    {
        var error = Assert.Throws<ConfigFileException>(() => ConfigFile.Parse("root = \"/r\"\n\naddress = \n", Source))!;
        Assert.That(error.Line, Is.EqualTo(3), error.Message);
        Assert.That(error.Message, Does.StartWith($"{Source}:3: "));
    }

    [Test]
    public async Task The_default_file_may_be_absent_but_a_named_one_may_not()
    {
        var missing = Path.Combine(Path.GetTempPath(), "ctd-config-" + Guid.NewGuid().ToString("N"), "config.toml");
        Assert.That(await ConfigFile.LoadAsync(missing, required: false, CancellationToken.None), Is.EqualTo(DaemonConfig.Default));
        var error = Assert.ThrowsAsync<ConfigFileException>(() => ConfigFile.LoadAsync(missing, required: true, CancellationToken.None))!;
        Assert.That(error.Message, Is.EqualTo($"{missing}: no such file"));
    }
}
