using Containerd.Daemon.Config;
using Containerd.Daemon.Hosting;

namespace Containerd.UnitTests.Daemon.Hosting;

public sealed class DaemonFlagsTests
{
    private static readonly DaemonConfig File = DaemonConfig.Default with
    {
        Address = "/file/c.sock",
        Root = "/file/root",
        State = "/file/state",
        Runtime = "/file/runc",
        Shim = "/file/shim",
        LogLevel = "warning",
        Timeouts = DaemonTimeouts.Default with { ShimReady = TimeSpan.FromSeconds(42) },
    };

    [Test]
    public void Given_flags_override_the_file_and_the_rest_of_the_file_stays()
    {
        var flags = Flags("--config", "/x/config.toml", "--root", "/flag/root", "--log-level", "debug", "-a", "/flag/c.sock");
        Assert.That(flags.Config, Is.EqualTo("/x/config.toml"));
        Assert.That(flags.ApplyTo(File), Is.EqualTo(File with { Root = "/flag/root", LogLevel = "debug", Address = "/flag/c.sock" }));
    }

    [Test]
    public void Without_flags_the_file_is_used_as_is()
    {
        var flags = Flags();
        Assert.That(flags, Is.EqualTo(new DaemonFlags(null, null, null, null, null, null, null)));
        Assert.That(flags.ApplyTo(File), Is.EqualTo(File));
        Assert.That(flags.ApplyTo(DaemonConfig.Default), Is.EqualTo(DaemonConfig.Default));
    }

    [Test]
    public void Every_flag_overrides_its_key()
    {
        var flags = Flags("--address", "/f/a", "--root", "/f/r", "--state", "/f/s", "--runtime", "crun", "--shim", "/f/shim", "--log-level", "error");
        Assert.That(flags.ApplyTo(File), Is.EqualTo(File with
        {
            Address = "/f/a", Root = "/f/r", State = "/f/s", Runtime = "crun", Shim = "/f/shim", LogLevel = "error",
        }));
    }

    private static DaemonFlags Flags(params string[] args)
    {
        var parse = DaemonCommand.Create().Parse(args);
        Assert.That(parse.Errors, Is.Empty);
        return DaemonFlags.From(parse);
    }
}
