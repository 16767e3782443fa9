using Containerd.Api.Shim;
using Containerd.Shim.Process;
using Containerd.Shim.Reaper;
using Containerd.Shim.Runc;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Status = Containerd.Api.Types.Status;

namespace Containerd.UnitTests.Shim.Process;

public sealed class InitProcessTests
{
    private const int Pid = 42;
    private FakeContainerRuntime _runtime = null!;
    private RecordingObserver _observer = null!;
    private FakeTeardown _teardown = null!;
    private TaskCompletionSource<ProcessExit> _reaped = null!;

    [SetUp]
    public void SetUp()
    {
        _runtime = new FakeContainerRuntime();
        _observer = new RecordingObserver();
        _teardown = new FakeTeardown();
        _reaped = new TaskCompletionSource<ProcessExit>(TaskCreationOptions.RunContinuationsAsynchronously);
        // runc kill / delete --force: the init dies and is reaped.
        _runtime.OnKill = () => _reaped.TrySetResult(new ProcessExit(137, DateTime.UtcNow));
        _teardown.OnRemove = () => _reaped.TrySetResult(new ProcessExit(137, DateTime.UtcNow));
    }

    [Test]
    public void A_new_init_is_created()
    {
        var init = NewInit();
        Assert.That(init.State, Is.SameAs(InitCreatedState.Instance));
        Assert.That(init.State.Status, Is.EqualTo(Status.Created));
        Assert.That(init.Describe(), Is.EqualTo("task \"c1\""));
    }

    [Test]
    public async Task Start_of_a_created_init_runs_runc_start_and_moves_to_running()
    {
        var init = NewInit();
        await init.StartAsync(CancellationToken.None);
        Assert.That(init.State, Is.SameAs(InitRunningState.Instance));
        Assert.That(_runtime.Calls, Is.EqualTo(new[] { "start" }));
        Assert.That(_observer.Events, Is.EqualTo(new[] { "start 42" }));
    }

    [Test]
    public async Task Pause_of_a_running_init_moves_to_paused_and_resume_back_to_running()
    {
        var init = await InState("running");
        await init.PauseAsync(CancellationToken.None);
        Assert.That(init.State, Is.SameAs(InitPausedState.Instance));
        Assert.That(init.State.Status, Is.EqualTo(Status.Paused));
        await init.ResumeAsync(CancellationToken.None);
        Assert.That(init.State, Is.SameAs(InitRunningState.Instance));
        Assert.That(_runtime.Calls, Is.EqualTo(new[] { "start", "pause", "resume" }));
        Assert.That(_observer.Events, Is.EqualTo(new[] { "start 42", "paused 42" }));
    }

    [TestCase("created")]
    [TestCase("running")]
    [TestCase("paused")]
    public async Task A_live_init_can_be_signalled_through_runc(string state)
    {
        var init = await InState(state);
        _runtime.OnKill = null;
        _runtime.Calls.Clear();
        await init.KillAsync(15, all: true, CancellationToken.None);
        Assert.That(_runtime.Calls, Is.EqualTo(new[] { "kill 15 all" }));
    }

    [TestCase("created")]
    [TestCase("running")]
    public async Task Exec_is_allowed_in_a_created_or_running_task(string state)
    {
        var init = await InState(state);
        Assert.DoesNotThrowAsync(() => init.CheckExecAsync(CancellationToken.None));
    }

    [Test]
    public async Task Exec_into_a_reaped_init_is_refused_without_recording_its_exit()
    {
        var init = await InState("running");
        _reaped.SetResult(new ProcessExit(0, DateTime.UtcNow));
        var error = Assert.ThrowsAsync<RpcException>(() => init.CheckExecAsync(CancellationToken.None))!;
        Assert.That(error.StatusCode, Is.EqualTo(StatusCode.FailedPrecondition));
        Assert.That(init.State, Is.SameAs(InitRunningState.Instance), "its exit router records it, after the execs' exits");
        Assert.That(_observer.Events, Is.EqualTo(new[] { "start 42" }));
    }

    [TestCase("paused")]
    [TestCase("stopped")]
    [TestCase("deleted")]
    public async Task Exec_is_refused_otherwise_naming_the_task_and_its_state(string state)
    {
        var init = await InState(state);
        var error = Assert.ThrowsAsync<RpcException>(() => init.CheckExecAsync(CancellationToken.None))!;
        Assert.That(error.StatusCode, Is.EqualTo(StatusCode.FailedPrecondition));
        Assert.That(error.Status.Detail, Is.EqualTo($"cannot exec in task \"c1\": it is {state}"));
    }

    [TestCase("running", "start")]
    [TestCase("paused", "start")]
    [TestCase("stopped", "start")]
    [TestCase("deleted", "start")]
    [TestCase("created", "pause")]
    [TestCase("paused", "pause")]
    [TestCase("stopped", "pause")]
    [TestCase("deleted", "pause")]
    [TestCase("created", "resume")]
    [TestCase("running", "resume")]
    [TestCase("stopped", "resume")]
    [TestCase("deleted", "resume")]
    [TestCase("running", "delete")]
    [TestCase("paused", "delete")]
    public async Task Illegal_transitions_are_refused_naming_the_task_and_its_state(string state, string verb)
    {
        var init = await InState(state);
        var before = init.State;
        _runtime.Calls.Clear();
        var error = Assert.ThrowsAsync<RpcException>(() => Do(init, verb))!;
        Assert.That(error.StatusCode, Is.EqualTo(StatusCode.FailedPrecondition));
        Assert.That(error.Status.Detail, Is.EqualTo($"cannot {verb} task \"c1\": it is {state}"));
        Assert.That(init.State, Is.SameAs(before), "a refused transition changes nothing");
        Assert.That(_runtime.Calls, Is.Empty, "runc is not asked");
    }

    [Test]
    public async Task Kill_of_a_stopped_init_is_not_found()
    {
        var init = await InState("stopped");
        var error = Assert.ThrowsAsync<RpcException>(() => init.KillAsync(9, false, CancellationToken.None))!;
        Assert.That(error.StatusCode, Is.EqualTo(StatusCode.NotFound));
        Assert.That(error.Status.Detail, Is.EqualTo("cannot kill task \"c1\": process already finished"));
    }

    [Test]
    public async Task Kill_and_delete_of_a_deleted_init_are_not_found()
    {
        var init = await InState("deleted");
        var kill = Assert.ThrowsAsync<RpcException>(() => init.KillAsync(9, false, CancellationToken.None))!;
        Assert.That(kill.StatusCode, Is.EqualTo(StatusCode.NotFound));
        Assert.That(kill.Status.Detail, Is.EqualTo("cannot kill task \"c1\": it is deleted"));
        var delete = Assert.ThrowsAsync<RpcException>(() => init.DeleteAsync(_teardown, CancellationToken.None))!;
        Assert.That(delete.StatusCode, Is.EqualTo(StatusCode.NotFound));
        Assert.That(delete.Status.Detail, Is.EqualTo("task \"c1\" is already deleted"));
    }

    [Test]
    public async Task Kill_of_a_reaped_init_whose_exit_is_not_recorded_yet_is_not_found_without_runc()
    {
        var init = await InState("running");
        _runtime.Calls.Clear();
        _reaped.SetResult(new ProcessExit(0, DateTime.UtcNow));
        var error = Assert.ThrowsAsync<RpcException>(() => init.KillAsync(9, false, CancellationToken.None))!;
        Assert.That(error.StatusCode, Is.EqualTo(StatusCode.NotFound));
        Assert.That(_runtime.Calls, Is.Empty);
    }

    [Test]
    public async Task Runc_saying_not_running_on_kill_is_not_found_with_its_words()
    {
        var init = await InState("running");
        _runtime.OnKill = null;
        _runtime.FailNext = new RuncException("kill", "container not running", 1);
        var error = Assert.ThrowsAsync<RpcException>(() => init.KillAsync(9, false, CancellationToken.None))!;
        Assert.That(error.StatusCode, Is.EqualTo(StatusCode.NotFound));
        Assert.That(error.Status.Detail, Does.Contain("container not running"));
    }

    [Test]
    public void A_failed_runc_start_keeps_the_init_created_and_reports_runcs_words()
    {
        var init = NewInit();
        _runtime.FailNext = new RuncException("start", "exec: \"nope\": executable file not found in $PATH", 1);
        var error = Assert.ThrowsAsync<RpcException>(() => init.StartAsync(CancellationToken.None))!;
        Assert.That(error.StatusCode, Is.EqualTo(StatusCode.FailedPrecondition));
        Assert.That(error.Status.Detail, Is.EqualTo("cannot start task \"c1\": exec: \"nope\": executable file not found in $PATH"));
        Assert.That(init.State, Is.SameAs(InitCreatedState.Instance));
        Assert.That(_observer.Events, Is.Empty, "no START event for a start that failed");
    }

    [Test]
    public async Task The_exit_is_recorded_once()
    {
        var init = await InState("running");
        Assert.That(await init.RecordExitAsync(new ProcessExit(3, DateTime.UtcNow)), Is.True);
        Assert.That(await init.RecordExitAsync(new ProcessExit(4, DateTime.UtcNow)), Is.False);
        Assert.That(init.State, Is.SameAs(InitStoppedState.Instance));
        Assert.That(init.ExitStatus, Is.EqualTo(3u));
        Assert.That(init.ExitedAt, Is.Not.Null);
        Assert.That(_observer.Events, Is.EqualTo(new[] { "start 42", "exit 42 3" }));
    }

    [Test]
    public async Task An_exit_reaped_during_start_is_recorded_at_once_and_published_after_the_start()
    {
        var init = NewInit();
        var release = new TaskCompletionSource();
        _runtime.StartGate = release.Task;
        var start = init.StartAsync(CancellationToken.None);
        var exit = init.RecordExitAsync(new ProcessExit(0, DateTime.UtcNow));
        Assert.That(exit.IsCompleted, Is.True, "recording an exit never waits for a runc call");
        Assert.That(await exit, Is.True);
        Assert.That(init.State, Is.SameAs(InitStoppedState.Instance));
        Assert.That(init.Finished.IsCompleted, Is.True);
        Assert.That(_observer.Events, Is.Empty, "its EXIT waits for the START");
        release.SetResult();
        await start;
        Assert.That(init.State, Is.SameAs(InitStoppedState.Instance), "a start that returns late does not revive it");
        Assert.That(_observer.Events, Is.EqualTo(new[] { "start 42", "exit 42 0" }));
    }

    [Test]
    public async Task An_exit_during_a_failing_start_is_published_alone()
    {
        var init = NewInit();
        var release = new TaskCompletionSource();
        _runtime.StartGate = release.Task;
        _runtime.Failures["start"] = new RuncException("start", "container init was OOM-killed", 1);
        var start = init.StartAsync(CancellationToken.None);
        Assert.That(await init.RecordExitAsync(new ProcessExit(137, DateTime.UtcNow)), Is.True);
        release.SetResult();
        Assert.ThrowsAsync<RpcException>(() => start);
        Assert.That(_observer.Events, Is.EqualTo(new[] { "exit 42 137" }));
    }

    [Test]
    public async Task An_exit_while_a_kill_waits_for_runc_is_recorded_and_published_at_once()
    {
        var init = await InState("running");
        var release = new TaskCompletionSource();
        _runtime.OnKill = null;
        _runtime.KillGate = release.Task;
        var kill = init.KillAsync(9, all: false, CancellationToken.None);
        Assert.That(await init.RecordExitAsync(new ProcessExit(137, DateTime.UtcNow)).WaitAsync(TimeSpan.FromSeconds(5)), Is.True);
        Assert.That(_observer.Events, Is.EqualTo(new[] { "start 42", "exit 42 137" }));
        release.SetResult();
        await kill;
    }

    [Test]
    public async Task Delete_of_a_created_init_kills_it_waits_for_its_exit_and_tears_down_once()
    {
        var init = NewInit();
        await init.DeleteAsync(_teardown, CancellationToken.None);
        Assert.That(_runtime.Calls, Is.EqualTo(new[] { "kill 9" }));
        Assert.That(_teardown.Calls, Is.EqualTo(new[] { true }));
        Assert.That(init.State, Is.SameAs(InitDeletedState.Instance));
        Assert.That(init.State.Status, Is.EqualTo(Status.Stopped), "the API has no deleted status");
        Assert.That(init.ExitStatus, Is.EqualTo(137u));
        Assert.That(_observer.Events, Is.EqualTo(new[] { "exit 42 137" }));
        Assert.That(init.ToDeleteReply().ExitStatus, Is.EqualTo(137u));
    }

    [Test]
    public async Task Delete_of_a_stopped_init_tears_down_and_keeps_its_exit()
    {
        var init = await InState("stopped");
        await init.DeleteAsync(_teardown, CancellationToken.None);
        Assert.That(_teardown.Calls, Is.EqualTo(new[] { true }));
        Assert.That(init.State, Is.SameAs(InitDeletedState.Instance));
        Assert.That(init.ExitStatus, Is.EqualTo(0u));
        Assert.That(_observer.Events.Count(e => e.StartsWith("exit", StringComparison.Ordinal)), Is.EqualTo(1));
    }

    [Test]
    public async Task Delete_of_a_running_init_that_was_reaped_records_the_exit_first()
    {
        var init = await InState("running");
        _reaped.SetResult(new ProcessExit(1, DateTime.UtcNow));
        await init.DeleteAsync(_teardown, CancellationToken.None);
        Assert.That(init.State, Is.SameAs(InitDeletedState.Instance));
        Assert.That(init.ExitStatus, Is.EqualTo(1u));
    }

    [Test]
    public async Task A_failed_teardown_leaves_the_init_stopped_for_a_retry()
    {
        var init = await InState("stopped");
        _teardown.Failure = new RpcException(new Grpc.Core.Status(StatusCode.Internal, "cannot delete task \"c1\": runc broke"));
        Assert.ThrowsAsync<RpcException>(() => init.DeleteAsync(_teardown, CancellationToken.None));
        Assert.That(init.State, Is.SameAs(InitStoppedState.Instance));
    }

    [TestCase("created")]
    [TestCase("running")]
    [TestCase("paused")]
    [TestCase("stopped")]
    public async Task A_forced_delete_tears_down_whatever_the_state(string state)
    {
        var init = await InState(state);
        await init.ForceDeleteAsync(_teardown, CancellationToken.None);
        Assert.That(_teardown.Calls, Is.EqualTo(new[] { false }));
        Assert.That(init.State, Is.SameAs(InitDeletedState.Instance));
        Assert.That(init.State.IsFinished, Is.True);
    }

    [Test]
    public async Task A_forced_delete_of_a_deleted_init_does_nothing()
    {
        var init = await InState("deleted");
        _teardown.Calls.Clear();
        await init.ForceDeleteAsync(_teardown, CancellationToken.None);
        Assert.That(_teardown.Calls, Is.Empty);
    }

    [Test]
    public async Task Processes_describes_the_init_with_the_shared_reply_shape()
    {
        var init = new InitProcess(_runtime, _observer, NullLogger.Instance, Pid, new Stdio { Stdout = "/out", Stdin = "/in" }, null, _reaped.Task);
        await init.StartAsync(CancellationToken.None);
        var process = init.ToProcess();
        Assert.That(process.Pid, Is.EqualTo(42u));
        Assert.That(process.Status, Is.EqualTo(Status.Running));
        Assert.That(process.Stdout, Is.EqualTo("/out"));
        Assert.That(process.Stdin, Is.EqualTo("/in"));
    }

    [TestCase("running")]
    [TestCase("paused")]
    public async Task A_running_or_paused_init_can_be_checkpointed_and_keeps_its_state(string state)
    {
        var init = await InState(state);
        var before = init.State;
        _runtime.Calls.Clear();
        await init.CheckpointAsync(new CheckpointOptions("/img", "/work", false, false, false, false, false, [], null), CancellationToken.None);
        Assert.That(_runtime.Calls, Is.EqualTo(new[] { "checkpoint" }));
        Assert.That(init.State, Is.SameAs(before));
    }

    [TestCase("created")]
    [TestCase("stopped")]
    [TestCase("deleted")]
    public async Task Checkpoint_is_refused_unless_running_or_paused(string state)
    {
        var init = await InState(state);
        _runtime.Calls.Clear();
        var error = Assert.ThrowsAsync<RpcException>(() =>
            init.CheckpointAsync(new CheckpointOptions("/img", "/work", true, false, false, false, false, [], null), CancellationToken.None))!;
        Assert.That(error.StatusCode, Is.EqualTo(StatusCode.FailedPrecondition));
        Assert.That(error.Status.Detail, Is.EqualTo($"cannot checkpoint task \"c1\": it is {state}"));
        Assert.That(_runtime.Calls, Is.Empty);
    }

    [Test]
    public async Task A_failed_checkpoint_leaves_the_init_running_with_runcs_words()
    {
        var init = await InState("running");
        _runtime.FailNext = new RuncException("checkpoint", "criu failed: type DUMP errno 0: criu: Error (criu/vdso.c:613): vdso: Failed to fill self vdso symtable", 1);
        var error = Assert.ThrowsAsync<RpcException>(() =>
            init.CheckpointAsync(new CheckpointOptions("/img", "/work", true, false, false, false, false, [], null), CancellationToken.None))!;
        Assert.That(error.StatusCode, Is.EqualTo(StatusCode.FailedPrecondition));
        Assert.That(error.Status.Detail, Does.StartWith("cannot checkpoint task \"c1\": criu failed").And.EndWith("Failed to fill self vdso symtable"));
        Assert.That(init.State, Is.SameAs(InitRunningState.Instance));
    }

    [TestCase("created")]
    [TestCase("running")]
    [TestCase("paused")]
    public async Task A_created_running_or_paused_init_can_be_updated_and_keeps_its_state(string state)
    {
        var init = await InState(state);
        var before = init.State;
        _runtime.Calls.Clear();
        await init.UpdateAsync("{\"memory\":{\"limit\":1}}"u8.ToArray(), CancellationToken.None);
        Assert.That(_runtime.Calls, Is.EqualTo(new[] { "update {\"memory\":{\"limit\":1}}" }));
        Assert.That(init.State, Is.SameAs(before));
    }

    [TestCase("stopped")]
    [TestCase("deleted")]
    public async Task Update_of_an_init_that_does_not_run_is_refused(string state)
    {
        var init = await InState(state);
        _runtime.Calls.Clear();
        var error = Assert.ThrowsAsync<RpcException>(() => init.UpdateAsync("{}"u8.ToArray(), CancellationToken.None))!;
        Assert.That(error.StatusCode, Is.EqualTo(StatusCode.FailedPrecondition));
        Assert.That(error.Status.Detail, Is.EqualTo($"task \"c1\" is not running (it is {state}): cannot update its resources"));
        Assert.That(_runtime.Calls, Is.Empty);
    }

    [Test]
    public async Task Update_of_an_init_reaped_but_not_yet_recorded_is_refused_without_runc()
    {
        var init = await InState("running");
        _reaped.SetResult(new ProcessExit(0, DateTime.UtcNow));
        _runtime.Calls.Clear();
        var error = Assert.ThrowsAsync<RpcException>(() => init.UpdateAsync("{}"u8.ToArray(), CancellationToken.None))!;
        Assert.That(error.StatusCode, Is.EqualTo(StatusCode.FailedPrecondition));
        Assert.That(error.Status.Detail, Does.StartWith("task \"c1\" is not running"));
        Assert.That(_runtime.Calls, Is.Empty);
    }

    [Test]
    public async Task A_failed_update_carries_runcs_words()
    {
        var init = await InState("running");
        _runtime.FailNext = new RuncException("update", "invalid memory value: 1", 1);
        var error = Assert.ThrowsAsync<RpcException>(() => init.UpdateAsync("{}"u8.ToArray(), CancellationToken.None))!;
        Assert.That(error.Status.Detail, Does.StartWith("cannot update the resources of task \"c1\": ").And.Contains("invalid memory value: 1"));
        Assert.That(init.State, Is.SameAs(InitRunningState.Instance));
    }

    private InitProcess NewInit() => new(_runtime, _observer, NullLogger.Instance, Pid, new Stdio(), null, _reaped.Task);

    private async Task<InitProcess> InState(string state)
    {
        var init = NewInit();
        switch (state)
        {
            case "created":
                break;
            case "running":
                await init.StartAsync(CancellationToken.None);
                break;
            case "paused":
                await init.StartAsync(CancellationToken.None);
                await init.PauseAsync(CancellationToken.None);
                break;
            case "stopped":
                await init.StartAsync(CancellationToken.None);
                _reaped.SetResult(new ProcessExit(0, DateTime.UtcNow));
                await init.RecordExitAsync(await _reaped.Task);
                break;
            case "deleted":
                await init.StartAsync(CancellationToken.None);
                _reaped.SetResult(new ProcessExit(0, DateTime.UtcNow));
                await init.RecordExitAsync(await _reaped.Task);
                await init.DeleteAsync(_teardown, CancellationToken.None);
                break;
            default:
                throw new ArgumentException(state);
        }
        Assert.That(init.State.Name, Is.EqualTo(state));
        return init;
    }

    private static Task Do(InitProcess init, string verb) => verb switch
    {
        "start" => init.StartAsync(CancellationToken.None),
        "pause" => init.PauseAsync(CancellationToken.None),
        "resume" => init.ResumeAsync(CancellationToken.None),
        "delete" => init.DeleteAsync(new FakeTeardown(), CancellationToken.None),
        _ => throw new ArgumentException(verb),
    };
}
