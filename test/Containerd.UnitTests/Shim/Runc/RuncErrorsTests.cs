using Containerd.Shim.Mounts;
using Containerd.Shim.Runc;
using Grpc.Core;

namespace Containerd.UnitTests.Shim.Runc;

public sealed class RuncErrorsTests
{
    [TestCase("container \"c1\" does not exist", "ContainerMissing")]
    [TestCase("container not running", "Precondition")]
    [TestCase("cannot kill: process already finished", "Precondition")]
    [TestCase("exec: \"nope\": executable file not found in $PATH", "Precondition")]
    [TestCase("open /x: No such file or directory", "Precondition")]
    [TestCase("mkdir /y: permission denied", "Precondition")]
    [TestCase("container c1 is paused, resume it first", "Precondition")]
    [TestCase("container not paused", "Precondition")]
    [TestCase("cannot allocate tty if runc will detach without setting console socket", "Precondition")]
    [TestCase("unable to freeze: cgroup broke", "Internal")]
    public void Runcs_words_decide_the_kind(string words, string kind) =>
        Assert.That(RuncErrors.Classify(new RuncException("x", words, 1)).ToString(), Is.EqualTo(kind));

    [TestCase("container \"c1\" does not exist", StatusCode.NotFound)]
    [TestCase("container not running", StatusCode.FailedPrecondition)]
    [TestCase("unable to freeze: cgroup broke", StatusCode.Internal)]
    public void The_status_keeps_runcs_words_after_the_context(string words, StatusCode code)
    {
        var status = RuncErrors.ToRpc(new RuncException("pause", words, 1), "cannot pause task \"c1\"");
        Assert.That(status.StatusCode, Is.EqualTo(code));
        Assert.That(status.Status.Detail, Is.EqualTo($"cannot pause task \"c1\": {words}"));
    }

    [Test]
    public void A_status_passes_through_unchanged()
    {
        var original = new RpcException(new Status(StatusCode.AlreadyExists, "task \"c1\" already exists"));
        Assert.That(RuncErrors.ToRpc(original, "cannot create"), Is.SameAs(original));
    }

    [Test]
    public void Mount_and_other_failures_are_internal_with_their_message()
    {
        var mount = RuncErrors.ToRpc(new MountException("mount overlay on /r: Invalid argument"), "cannot create task \"c1\"");
        Assert.That(mount.StatusCode, Is.EqualTo(StatusCode.Internal));
        Assert.That(mount.Status.Detail, Is.EqualTo("cannot create task \"c1\": mount overlay on /r: Invalid argument"));
        var io = RuncErrors.ToRpc(new IOException("pid file /b/init.pid holds no pid: \"\""), "cannot create task \"c1\"");
        Assert.That(io.StatusCode, Is.EqualTo(StatusCode.Internal));
        Assert.That(io.Status.Detail, Does.EndWith("holds no pid: \"\""));
    }

    [TestCase("created", true)]
    [TestCase("running", true)]
    [TestCase("paused", true)]
    [TestCase("pausing", true)]
    [TestCase("stopped", false)]
    [TestCase(null, false)]
    public void Which_statuses_still_have_a_process_to_kill(string? status, bool live) =>
        Assert.That(RuncStatus.HasLiveProcess(status), Is.EqualTo(live));
}
