using Containerd.Api.Shim;
using Containerd.Shim.Process;
using Containerd.Shim.Reaper;
using Containerd.Shim.Runc;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Status = Containerd.Api.Types.Status;

namespace Containerd.UnitTests.Shim.Process;

/// <summary>An init created from a checkpoint: no process until Start restores it, and what may happen before and after.</summary>
public sealed class InitCreatedCheckpointStateTests
{
    private FakeContainerRuntime _runtime = null!;
    private RecordingObserver _observer = null!;
    private FakeTeardown _teardown = null!;
    private TaskCompletionSource<ProcessExit> _restoredExit = null!;
    private List<(int Pid, long NotBefore)> _watched = null!;
    private string _bundle = null!;
    private RestoreOptions _restore = null!;

    [SetUp]
    public void SetUp()
    {
        _runtime = new FakeContainerRuntime();
        _observer = new RecordingObserver();
        _teardown = new FakeTeardown();
        _restoredExit = new TaskCompletionSource<ProcessExit>(TaskCreationOptions.RunContinuationsAsynchronously);
        _watched = [];
        _bundle = Directory.CreateTempSubdirectory("restore").FullName;
        _restore = new RestoreOptions(_bundle, Path.Combine(_bundle, "restore-image"), Path.Combine(_bundle, "restore-work"), Path.Combine(_bundle, "init.pid"));
        Directory.CreateDirectory(_restore.ImagePath);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_bundle, recursive: true);

    [Test]
    public void It_is_created_with_no_process()
    {
        var init = NewInit();
        Assert.That(init.State, Is.InstanceOf<InitCreatedCheckpointState>());
        Assert.That(init.State.Status, Is.EqualTo(Status.Created));
        Assert.That(init.Pid, Is.EqualTo(0));
        Assert.That(_runtime.Calls, Is.Empty, "runc runs only at Start");
    }

    [Test]
    public async Task Start_restores_takes_the_new_pid_and_runs()
    {
        var init = NewInit();
        await init.StartAsync(CancellationToken.None);
        Assert.Multiple(() =>
        {
            Assert.That(_runtime.Calls, Is.EqualTo(new[] { "restore" }));
            Assert.That(init.State, Is.SameAs(InitRunningState.Instance));
            Assert.That(init.Pid, Is.EqualTo(77));
            Assert.That(_watched.Select(w => w.Pid), Is.EqualTo(new[] { 77 }), "the reaper watches the restored pid");
            Assert.That(_observer.Events, Is.EqualTo(new[] { "start 77" }));
            Assert.That(Directory.Exists(_restore.ImagePath), Is.False, "the image goes once restored");
            Assert.That(Directory.Exists(_restore.WorkPath), Is.False, "CRIU's work directory goes");
        });

        _restoredExit.SetResult(new ProcessExit(3, DateTime.UtcNow));
        var exit = await init.Reaped;
        Assert.That(exit.Status, Is.EqualTo(3), "the init's Reaped follows the restored process");
    }

    [Test]
    public async Task A_failed_restore_keeps_the_state_refuses_a_retry_and_delete_cleans_up()
    {
        var init = NewInit();
        _runtime.FailNext = new RuncException("restore", "criu failed: type RESTORE errno 0: criu: Error (criu/vdso.c:613): vdso: Failed to fill self vdso symtable", 1);
        var error = Assert.ThrowsAsync<RpcException>(() => init.StartAsync(CancellationToken.None))!;
        Assert.Multiple(() =>
        {
            Assert.That(error.StatusCode, Is.EqualTo(StatusCode.FailedPrecondition));
            Assert.That(error.Status.Detail, Does.StartWith("cannot restore task \"c1\": criu failed").And.Contain("vdso"));
            Assert.That(init.State, Is.InstanceOf<InitCreatedCheckpointState>());
            Assert.That(_observer.Events, Is.Empty, "no START");
            Assert.That(Directory.Exists(_restore.WorkPath), Is.False, "CRIU's work directory goes on failure too");
        });

        error = Assert.ThrowsAsync<RpcException>(() => init.StartAsync(CancellationToken.None))!;
        Assert.That(error.StatusCode, Is.EqualTo(StatusCode.FailedPrecondition));
        Assert.That(error.Status.Detail, Does.Contain("restore failed").And.Contain("delete it"));
        Assert.That(_runtime.Calls, Is.EqualTo(new[] { "restore" }), "no second runc restore");

        await init.DeleteAsync(_teardown, CancellationToken.None);
        Assert.Multiple(() =>
        {
            Assert.That(init.State, Is.SameAs(InitDeletedState.Instance));
            Assert.That(init.ExitStatus, Is.EqualTo((uint)InitCreatedCheckpointState.NeverRestoredExitStatus));
            Assert.That(_observer.Events, Is.EqualTo(new[] { "exit 0 137" }));
            Assert.That(_teardown.Calls, Has.Count.EqualTo(1));
            Assert.That(init.Reaped.IsCompleted, "its exit router is released");
        });
    }

    [Test]
    public void Nothing_but_start_and_delete_before_the_restore()
    {
        var init = NewInit();
        Assert.Multiple(() =>
        {
            AssertRefused(() => init.KillAsync(9, all: false, CancellationToken.None), "kill");
            AssertRefused(() => init.PauseAsync(CancellationToken.None), "pause");
            AssertRefused(() => init.ResumeAsync(CancellationToken.None), "resume");
            AssertRefused(() => init.CheckExecAsync(CancellationToken.None), "exec in");
            AssertRefused(() => init.CheckpointAsync(Checkpoint(), CancellationToken.None), "checkpoint");
        });
        Assert.That(_runtime.Calls, Is.Empty);
    }

    [Test]
    public async Task A_restored_init_can_be_checkpointed_again()
    {
        var init = NewInit();
        await init.StartAsync(CancellationToken.None);
        await init.CheckpointAsync(Checkpoint(), CancellationToken.None);
        Assert.That(_runtime.Calls, Is.EqualTo(new[] { "restore", "checkpoint" }));
        Assert.That(init.State, Is.SameAs(InitRunningState.Instance), "without exit it keeps running");
    }

    private static CheckpointOptions Checkpoint() => new("/img", "/work", false, false, false, false, false, [], null);

    private static void AssertRefused(Func<Task> operation, string verb)
    {
        var error = Assert.ThrowsAsync<RpcException>(() => operation())!;
        Assert.That(error.StatusCode, Is.EqualTo(StatusCode.FailedPrecondition), verb);
        Assert.That(error.Status.Detail, Does.StartWith($"cannot {verb} task \"c1\"").And.Contain("checkpoint"), verb);
    }

    private InitProcess NewInit() =>
        InitProcess.ForRestore(_runtime, _restore, new Stdio(), io: null, Watch, _observer, NullLogger.Instance);

    private Task<ProcessExit> Watch(int pid, long notBefore)
    {
        _watched.Add((pid, notBefore));
        return _restoredExit.Task;
    }
}
