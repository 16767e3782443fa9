using System.Text;
using Containerd.Api.Shim;
using Containerd.Shared.Native;
using Containerd.Shim.Process;
using Containerd.Shim.Reaper;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Status = Containerd.Api.Types.Status;

namespace Containerd.UnitTests.Shim.Process;

public sealed class ExecProcessTests
{
    private const int Pid = 77;
    private const string SpecJson = """{"args":["sh","-c","true"],"env":["A=1"],"cwd":"/work","user":{"uid":5,"gid":6}}""";
    private FakeContainerRuntime _runtime = null!;
    private RecordingObserver _observer = null!;
    private TaskCompletionSource<ProcessExit> _reaped = null!;

    [SetUp]
    public void SetUp()
    {
        _runtime = new FakeContainerRuntime();
        _observer = new RecordingObserver();
        _reaped = new TaskCompletionSource<ProcessExit>(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    [Test]
    public void An_exec_is_born_running()
    {
        var exec = NewExec();
        Assert.That(exec.State, Is.SameAs(ExecRunningState.Instance));
        Assert.That(exec.State.Status, Is.EqualTo(Status.Running));
        Assert.That(exec.Describe(), Is.EqualTo("process 77 in task \"c1\""));
    }

    [Test]
    public async Task Kill_of_a_running_exec_signals_its_pid_not_the_init()
    {
        var exec = NewExec();
        await exec.KillAsync(15, CancellationToken.None);
        Assert.That(_runtime.Calls, Is.EqualTo(new[] { "signal 77 15" }));
    }

    [Test]
    public void Kill_of_an_exec_that_is_gone_is_not_found()
    {
        var exec = NewExec();
        _runtime.SignalErrno = Libc.ESRCH;
        var error = Assert.ThrowsAsync<RpcException>(() => exec.KillAsync(9, CancellationToken.None))!;
        Assert.That(error.StatusCode, Is.EqualTo(StatusCode.NotFound));
        Assert.That(error.Status.Detail, Is.EqualTo("cannot kill process 77 in task \"c1\": process already finished"));
    }

    [Test]
    public void Kill_failing_otherwise_is_internal()
    {
        var exec = NewExec();
        _runtime.SignalErrno = 1; // EPERM
        var error = Assert.ThrowsAsync<RpcException>(() => exec.KillAsync(9, CancellationToken.None))!;
        Assert.That(error.StatusCode, Is.EqualTo(StatusCode.Internal));
        Assert.That(error.Status.Detail, Does.StartWith("cannot kill process 77 in task \"c1\": "));
    }

    [Test]
    public void Kill_of_a_reaped_exec_whose_exit_is_not_recorded_yet_sends_nothing()
    {
        var exec = NewExec();
        _reaped.SetResult(new ProcessExit(0, DateTime.UtcNow));
        var error = Assert.ThrowsAsync<RpcException>(() => exec.KillAsync(9, CancellationToken.None))!;
        Assert.That(error.StatusCode, Is.EqualTo(StatusCode.NotFound));
        Assert.That(_runtime.Calls, Is.Empty, "its pid may already be someone else's");
    }

    [Test]
    public void Delete_of_a_running_exec_is_refused_naming_it_and_its_state()
    {
        var exec = NewExec();
        var error = Assert.ThrowsAsync<RpcException>(() => exec.DeleteAsync(CancellationToken.None))!;
        Assert.That(error.StatusCode, Is.EqualTo(StatusCode.FailedPrecondition));
        Assert.That(error.Status.Detail, Is.EqualTo("cannot delete process 77 in task \"c1\": it is running"));
        Assert.That(exec.State, Is.SameAs(ExecRunningState.Instance));
    }

    [Test]
    public async Task The_exit_is_recorded_once_and_stops_the_exec()
    {
        var exec = NewExec();
        Assert.That(await exec.RecordExitAsync(new ProcessExit(2, DateTime.UtcNow)), Is.True);
        Assert.That(await exec.RecordExitAsync(new ProcessExit(5, DateTime.UtcNow)), Is.False);
        Assert.That(exec.State, Is.SameAs(ExecStoppedState.Instance));
        Assert.That(exec.ExitStatus, Is.EqualTo(2u));
        Assert.That(_observer.Events, Is.EqualTo(new[] { "exit 77 2" }));
    }

    [Test]
    public async Task Kill_of_a_stopped_exec_is_not_found()
    {
        var exec = await Stopped();
        var error = Assert.ThrowsAsync<RpcException>(() => exec.KillAsync(9, CancellationToken.None))!;
        Assert.That(error.StatusCode, Is.EqualTo(StatusCode.NotFound));
        Assert.That(error.Status.Detail, Is.EqualTo("cannot kill process 77 in task \"c1\": process already finished"));
    }

    [Test]
    public async Task Delete_of_a_stopped_exec_deletes_it_and_keeps_its_exit()
    {
        var exec = await Stopped();
        await exec.DeleteAsync(CancellationToken.None);
        Assert.That(exec.State, Is.SameAs(ExecDeletedState.Instance));
        Assert.That(exec.State.Status, Is.EqualTo(Status.Stopped), "the API has no deleted status");
        Assert.That(exec.ToDeleteReply().ExitStatus, Is.EqualTo(3u));
        Assert.That(exec.ToDeleteReply().ExitedAt, Is.Not.Null);
    }

    [Test]
    public async Task Delete_of_a_reaped_exec_records_its_exit_first()
    {
        var exec = NewExec();
        _reaped.SetResult(new ProcessExit(4, DateTime.UtcNow));
        await exec.DeleteAsync(CancellationToken.None);
        Assert.That(exec.State, Is.SameAs(ExecDeletedState.Instance));
        Assert.That(exec.ExitStatus, Is.EqualTo(4u));
        Assert.That(_observer.Events, Is.EqualTo(new[] { "exit 77 4" }));
    }

    [Test]
    public async Task A_deleted_exec_is_not_found_for_kill_and_delete()
    {
        var exec = await Stopped();
        await exec.DeleteAsync(CancellationToken.None);
        var kill = Assert.ThrowsAsync<RpcException>(() => exec.KillAsync(9, CancellationToken.None))!;
        Assert.That(kill.StatusCode, Is.EqualTo(StatusCode.NotFound));
        Assert.That(kill.Status.Detail, Is.EqualTo("cannot kill process 77 in task \"c1\": it is deleted"));
        var delete = Assert.ThrowsAsync<RpcException>(() => exec.DeleteAsync(CancellationToken.None))!;
        Assert.That(delete.StatusCode, Is.EqualTo(StatusCode.NotFound));
        Assert.That(delete.Status.Detail, Is.EqualTo("process 77 in task \"c1\" is already deleted"));
        Assert.That(await exec.RecordExitAsync(new ProcessExit(9, DateTime.UtcNow)), Is.False);
    }

    [Test]
    public async Task Deleting_the_task_records_a_reaped_execs_exit_and_deletes_it()
    {
        var exec = NewExec();
        _reaped.SetResult(new ProcessExit(137, DateTime.UtcNow));
        Assert.That(await exec.FinishWithTaskAsync(), Is.True);
        Assert.That(exec.State, Is.SameAs(ExecDeletedState.Instance));
        Assert.That(_observer.Events, Is.EqualTo(new[] { "exit 77 137" }));
        var kill = Assert.ThrowsAsync<RpcException>(() => exec.KillAsync(9, CancellationToken.None))!;
        Assert.That(kill.StatusCode, Is.EqualTo(StatusCode.NotFound), "an operation racing the task's delete finds it deleted");
    }

    [Test]
    public async Task Processes_describes_an_exec_with_its_spec_on_top_of_the_shared_shape()
    {
        var exec = NewExec(new Stdio { Stdout = "/out" });
        var process = exec.ToProcess(Status.Running);
        Assert.That(process.Pid, Is.EqualTo(77u));
        Assert.That(process.Status, Is.EqualTo(Status.Running));
        Assert.That(process.Stdout, Is.EqualTo("/out"));
        Assert.That(process.Args, Is.EqualTo(new[] { "sh", "-c", "true" }));
        Assert.That(process.Env, Is.EqualTo(new[] { "A=1" }));
        Assert.That(process.Cwd, Is.EqualTo("/work"));
        Assert.That(process.User.Uid, Is.EqualTo(5u));
        Assert.That(exec.ToState(Status.Running).Spec.ToStringUtf8(), Is.EqualTo(SpecJson));
        await Task.CompletedTask;
    }

    private ExecProcess NewExec(Stdio? stdio = null)
    {
        var json = Encoding.UTF8.GetBytes(SpecJson);
        var spec = ExecSpec.TryParse(json, out var problem) ?? throw new InvalidOperationException(problem);
        return new ExecProcess(_runtime, _observer, NullLogger.Instance, Pid, stdio ?? new Stdio(), null, _reaped.Task, ByteString.CopyFrom(json), spec);
    }

    private async Task<ExecProcess> Stopped()
    {
        var exec = NewExec();
        _reaped.SetResult(new ProcessExit(3, DateTime.UtcNow));
        await exec.RecordExitAsync(await _reaped.Task);
        return exec;
    }
}
