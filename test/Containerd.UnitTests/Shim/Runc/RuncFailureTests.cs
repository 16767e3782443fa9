using Containerd.Shim.Runc;

namespace Containerd.UnitTests.Shim.Runc;

public sealed class RuncFailureTests
{
    private const string NoSpace = "cannot create runc log /b/runc-log.1.json: No space left on device";

    [Test]
    public void Runcs_log_words_come_first() =>
        Assert.That(RuncFailure.Describe("create", 1, "container_linux.go: starting container process caused: oops\n", "runc: some stderr", NoSpace),
            Is.EqualTo("container_linux.go: starting container process caused: oops"));

    [Test]
    public void Without_log_words_stderr_is_the_cause() =>
        Assert.That(RuncFailure.Describe("create", 1, null, "  write /run/runc/c1/state.json: no space left on device\n", NoSpace),
            Is.EqualTo("write /run/runc/c1/state.json: no space left on device"));

    [Test]
    public void Without_log_words_or_stderr_the_log_write_error_is_the_cause() =>
        Assert.That(RuncFailure.Describe("create", 1, "  ", "", NoSpace),
            Is.EqualTo("runc create exited with status 1: " + NoSpace));

    [Test]
    public void With_nothing_else_only_the_exit_status_is_left() =>
        Assert.That(RuncFailure.Describe("kill", 2, null, null, null), Is.EqualTo("runc kill exited with status 2"));
}
