using Containerd.Daemon.Shims;

namespace Containerd.UnitTests.Daemon.Shims;

public sealed class ShimDeleteResultTests
{
    [TestCase("running 4242 137\n", "running", 4242, 137u)]
    [TestCase("stopped 4242 255", "stopped", 4242, 255u)]
    [TestCase("  paused 7 137  \n", "paused", 7, 137u)]
    public void A_status_line_is_read(string stdout, string status, int pid, uint exitStatus)
    {
        Assert.That(ShimDeleteResult.TryParse(stdout, out var result, out var error), Is.True, error);
        Assert.That(result, Is.EqualTo(new ShimDeleteResult(status, pid, exitStatus)));
        Assert.That(result.ContainerExisted, Is.True);
    }

    [Test]
    public void None_means_runc_had_no_container()
    {
        Assert.That(ShimDeleteResult.TryParse("none 0 255\n", out var result, out _), Is.True);
        Assert.That(result, Is.EqualTo(new ShimDeleteResult(null, 0, 255)));
        Assert.That(result.ContainerExisted, Is.False);
    }

    [TestCase("", "one line")]
    [TestCase("running 1 137\nrunning 1 137\n", "one line")]
    [TestCase("running 1", "STATUS PID EXIT")]
    [TestCase("running 1 137 extra", "STATUS PID EXIT")]
    [TestCase("Running 1 137", "not a word")]
    [TestCase("running -1 137", "pid")]
    [TestCase("running x 137", "pid")]
    [TestCase("running 1 -9", "exit status")]
    [TestCase("running 1 99999999999", "exit status")]
    public void Anything_else_is_refused_with_a_reason(string stdout, string reason)
    {
        Assert.That(ShimDeleteResult.TryParse(stdout, out _, out var error), Is.False);
        Assert.That(error, Does.Contain(reason));
    }
}
