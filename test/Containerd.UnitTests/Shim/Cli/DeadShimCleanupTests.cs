using Containerd.Shared.Bundles;
using Containerd.Shim.Cli;
using Containerd.Shim.Runc;
using Containerd.Shim.Teardown;
using Containerd.UnitTests.Shim.Process;
using Microsoft.Extensions.Logging.Abstractions;

namespace Containerd.UnitTests.Shim.Cli;

/// <summary>The delete sub-command's work, with a fake runtime and a bundle that has nothing mounted.</summary>
public sealed class DeadShimCleanupTests
{
    private TaskBundle _bundle = null!;
    private FakeContainerRuntime _runtime = null!;

    [SetUp]
    public void SetUp()
    {
        _bundle = new TaskBundle(Directory.CreateTempSubdirectory("shim-cleanup-").FullName);
        _runtime = new FakeContainerRuntime();
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_bundle.Directory, recursive: true);

    [Test]
    public async Task A_running_container_is_force_deleted_and_reported_killed()
    {
        _runtime.Status = "running";
        PidFile.Write(_bundle.InitPidFile, 4242);
        var outcome = await Cleanup().RunAsync();
        Assert.That(outcome.Format(), Is.EqualTo("running 4242 137"));
        Assert.That(_runtime.Calls, Is.EqualTo(new[] { "state", "delete --force" }));
        Assert.That(File.Exists(_bundle.InitPidFile), Is.False, "init.pid goes");
        Assert.That(Directory.Exists(_bundle.Directory), Is.True, "the bundle is the daemon's");
    }

    [Test]
    public async Task A_container_runc_does_not_know_is_none()
    {
        _runtime.FailNext = new RuncException("state", "container \"c1\" does not exist", 1);
        var outcome = await Cleanup().RunAsync();
        Assert.That(outcome.Format(), Is.EqualTo("none 0 255"));
    }

    [Test]
    public async Task A_stopped_container_keeps_its_unknown_exit_status()
    {
        _runtime.Status = "stopped";
        PidFile.Write(_bundle.InitPidFile, 4242);
        Assert.That((await Cleanup().RunAsync()).Format(), Is.EqualTo("stopped 4242 255"));
    }

    [Test]
    public void A_failing_runc_delete_fails_with_runcs_words_and_keeps_init_pid()
    {
        _runtime.Status = "running";
        _runtime.Failures["delete --force"] = new RuncException("delete", "unable to signal init: permission denied", 1);
        PidFile.Write(_bundle.InitPidFile, 4242);
        var error = Assert.ThrowsAsync<RuncException>(() => Cleanup().RunAsync())!;
        Assert.That(error.Message, Is.EqualTo("unable to signal init: permission denied"));
        Assert.That(File.Exists(_bundle.InitPidFile), Is.True, "left for a retry");
    }

    [Test]
    public async Task A_runc_that_cannot_tell_the_state_does_not_stop_the_delete()
    {
        _runtime.Failures["state"] = new RuncException("state", "state.json: unexpected end of JSON input", 1);
        Assert.That((await Cleanup().RunAsync()).Format(), Is.EqualTo("none 0 255"));
        Assert.That(_runtime.Calls, Does.Contain("delete --force"));
    }

    private DeadShimCleanup Cleanup() =>
        new(_runtime, new ContainerTeardown(_runtime, _bundle, NullLogger.Instance), _bundle, NullLogger<DeadShimCleanup>.Instance);
}
