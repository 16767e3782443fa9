using Containerd.Shim.Runc;

namespace Containerd.UnitTests.Shim.Runc;

public sealed class CriuArgumentsTests
{
    [Test]
    public void A_plain_checkpoint_leaves_the_container_running()
    {
        var args = CriuArguments.Checkpoint("c1", new CheckpointOptions("/img", "/work", false, false, false, false, false, [], null));
        Assert.That(args, Is.EqualTo(new[] { "checkpoint", "--image-path", "/img", "--work-path", "/work", "--leave-running", "c1" }));
    }

    [Test]
    public void Every_option_becomes_its_runc_flag_and_exit_drops_leave_running()
    {
        var args = CriuArguments.Checkpoint("c1", new CheckpointOptions("/img", "/work", true, true, true, true, true, ["network", "ipc"], "/parent"));
        Assert.That(args, Is.EqualTo(new[]
        {
            "checkpoint", "--image-path", "/img", "--work-path", "/work",
            "--tcp-established", "--ext-unix-sk", "--shell-job", "--file-locks",
            "--empty-ns", "network", "--empty-ns", "ipc", "--parent-path", "/parent", "c1",
        }));
    }

    [Test]
    public void Restore_is_detached_without_its_own_subreaper()
    {
        var options = new RestoreOptions("/bundle", "/bundle/restore-image", "/bundle/restore-work", "/bundle/init.pid");
        Assert.That(CriuArguments.Restore("c1", options, consoleSocket: null), Is.EqualTo(new[]
        {
            "restore", "--detach", "--no-subreaper", "--image-path", "/bundle/restore-image", "--work-path", "/bundle/restore-work",
            "--bundle", "/bundle", "--pid-file", "/bundle/init.pid", "c1",
        }));
        Assert.That(CriuArguments.Restore("c1", options, "/run/console.sock")[^3..], Is.EqualTo(new[] { "--console-socket", "/run/console.sock", "c1" }));
    }
}
