using Containerd.Daemon.Shims;

namespace Containerd.UnitTests.Daemon.Shims;

public sealed class ShimDeleteCommandTests
{
    [Test]
    public void The_command_line_follows_the_shim_contract()
    {
        var arguments = ShimDeleteCommand.Arguments("ns", "id", "/state/tasks/ns/id", "/state/runc/ns", runtime: null, "debug");
        Assert.That(arguments, Is.EqualTo(new[]
        {
            "delete", "--namespace", "ns", "--id", "id", "--bundle", "/state/tasks/ns/id",
            "--runtime-root", "/state/runc/ns", "--log-level", "debug",
        }));
    }

    [Test]
    public void A_runtime_is_passed_only_when_given()
    {
        var arguments = ShimDeleteCommand.Arguments("ns", "id", "/b", "/r", "/usr/bin/crun", "info");
        Assert.That(arguments, Is.EqualTo(new[]
        {
            "delete", "--namespace", "ns", "--id", "id", "--bundle", "/b", "--runtime-root", "/r",
            "--runtime", "/usr/bin/crun", "--log-level", "info",
        }));
    }
}
