using Containerd.Daemon.Shims;
using Containerd.Shared.Bundles;

namespace Containerd.UnitTests.Daemon.Shims;

public sealed class StateLayoutTests
{
    private readonly StateLayout _layout = new("/run/containerd-cs");

    [Test]
    public void A_bundle_lives_under_tasks_by_namespace_and_id()
    {
        var bundle = _layout.Bundle("default", "web");
        Assert.Multiple(() =>
        {
            Assert.That(_layout.TasksRoot, Is.EqualTo("/run/containerd-cs/tasks"));
            Assert.That(bundle.Directory, Is.EqualTo("/run/containerd-cs/tasks/default/web"));
            Assert.That(bundle.ConfigFile, Is.EqualTo("/run/containerd-cs/tasks/default/web/config.json"));
            Assert.That(bundle.ShimPidFile, Is.EqualTo("/run/containerd-cs/tasks/default/web/shim.pid"));
            Assert.That(bundle.InitPidFile, Is.EqualTo("/run/containerd-cs/tasks/default/web/init.pid"));
            Assert.That(bundle.EventSequenceFile, Is.EqualTo("/run/containerd-cs/tasks/default/web/events.seq"));
        });
    }

    [Test]
    public void Runc_has_one_root_per_namespace()
    {
        Assert.That(_layout.RuntimeRoot("a"), Is.Not.EqualTo(_layout.RuntimeRoot("b")));
        Assert.That(_layout.RuntimeRoot("a"), Is.EqualTo("/run/containerd-cs/runc/a"));
    }

    [Test]
    public void A_short_socket_path_stays_in_the_bundle()
    {
        Assert.That(_layout.ShimSocket("default", "web"), Is.EqualTo(_layout.Bundle("default", "web").DefaultSocket));
    }

    [Test]
    public void Long_ids_get_a_short_socket_that_can_be_found_again()
    {
        var ns = new string('n', 76);
        var id = new string('i', 76);
        var socket = _layout.ShimSocket(ns, id);
        Assert.Multiple(() =>
        {
            Assert.That(TaskBundle.FitsSocketPath(_layout.Bundle(ns, id).DefaultSocket), Is.False);
            Assert.That(TaskBundle.FitsSocketPath(socket), Is.True);
            Assert.That(Path.GetDirectoryName(socket), Is.EqualTo(_layout.ShortSocketDirectory));
            Assert.That(Path.GetFileName(socket), Does.Match("^[0-9a-f]{32}\\.sock$"));
            Assert.That(_layout.ShimSocket(ns, id), Is.EqualTo(socket), "the same task always gets the same socket");
            Assert.That(_layout.ShimSocket(ns, id + "x"), Is.Not.EqualTo(socket));
        });
    }

    [Test]
    public void The_socket_limit_is_the_bundle_contracts()
    {
        // A path of exactly 107 bytes still fits (sun_path is 108 with its NUL); 108 does not.
        var stateRoot = "/" + new string('s', TaskBundle.MaxSocketPathBytes - "/tasks/n/i/shim.sock".Length - 1);
        var layout = new StateLayout(stateRoot);
        Assert.That(layout.Bundle("n", "i").DefaultSocket.Length, Is.EqualTo(TaskBundle.MaxSocketPathBytes));
        Assert.That(layout.ShimSocket("n", "i"), Is.EqualTo(layout.Bundle("n", "i").DefaultSocket));
        Assert.That(layout.ShimSocket("n", "ii"), Does.StartWith(layout.ShortSocketDirectory + "/"));
    }
}
