using Containerd.Shim.Cli;

namespace Containerd.UnitTests.Shim.Cli;

public sealed class DeleteOutcomeTests
{
    [TestCase("running", 4242, "running 4242 137")]
    [TestCase("created", 4242, "created 4242 137")]
    [TestCase("paused", 4242, "paused 4242 137")]
    [TestCase("pausing", 4242, "pausing 4242 137")]
    [TestCase("stopped", 4242, "stopped 4242 255")]
    [TestCase(null, 0, "none 0 255")]
    [TestCase("", 0, "none 0 255")]
    [TestCase(null, 17, "none 17 255")]
    public void The_line_is_status_pid_and_exit_status(string? status, int pid, string line) =>
        Assert.That(new DeleteOutcome(status, pid).Format(), Is.EqualTo(line));
}
