using System.Text;
using Containerd.Api.Shim;
using Containerd.Shim.Process;
using Containerd.Shim.Reaper;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;

namespace Containerd.UnitTests.Shim.Process;

public sealed class InitExitOrderTests
{
    private const string SpecJson = """{"args":["sleep","600"],"cwd":"/"}""";
    private FakeContainerRuntime _runtime = null!;
    private RecordingObserver _observer = null!;
    private InitProcess _init = null!;

    [SetUp]
    public async Task SetUp()
    {
        _runtime = new FakeContainerRuntime();
        _observer = new RecordingObserver();
        _init = new InitProcess(_runtime, _observer, NullLogger.Instance, 42, new Stdio(), null, Task.FromResult(new ProcessExit(0, DateTime.UtcNow)));
        await _init.StartAsync(CancellationToken.None);
        _observer.Events.Clear();
        _runtime.Calls.Clear();
    }

    [Test]
    public async Task Live_execs_are_killed_and_their_exits_published_before_the_inits()
    {
        var (live, liveReaped) = NewExec(50);
        var (done, doneReaped) = NewExec(51);
        doneReaped.SetResult(new ProcessExit(0, DateTime.UtcNow));
        done.RecordExit(await done.Reaped);
        // The kernel reaps a SIGKILLed process; its router records the exit.
        _runtime.OnSignal = (pid, signal) =>
        {
            liveReaped.SetResult(new ProcessExit(128 + signal, DateTime.UtcNow));
            live.RecordExit(live.Reaped.Result);
        };

        await InitExitOrder.RecordAsync(_init, new ProcessExit(0, DateTime.UtcNow), [live, done], TimeSpan.FromSeconds(10), NullLogger.Instance);

        Assert.That(_runtime.Calls, Is.EqualTo(new[] { "signal 50 9" }), "only the live exec is killed");
        Assert.That(_observer.Events, Is.EqualTo(new[] { "exit 51 0", "exit 50 137", "exit 42 0" }));
        Assert.That(live.ExitStatus, Is.EqualTo(137u));
    }

    [Test]
    public async Task A_reaped_exec_whose_exit_is_not_yet_recorded_is_waited_for_not_signalled()
    {
        var (exec, reaped) = NewExec(60);
        reaped.SetResult(new ProcessExit(137, DateTime.UtcNow));

        var recording = InitExitOrder.RecordAsync(_init, new ProcessExit(0, DateTime.UtcNow), [exec], TimeSpan.FromSeconds(10), NullLogger.Instance);
        await Task.Delay(50);
        Assert.That(recording.IsCompleted, Is.False, "the init's exit waits for the exec's (its output may still be copied)");
        Assert.That(_observer.Events, Is.Empty);

        exec.RecordExit(await exec.Reaped);
        await recording;
        Assert.That(_runtime.Calls, Is.Empty, "a reaped pid may be reused: never signalled");
        Assert.That(_observer.Events, Is.EqualTo(new[] { "exit 60 137", "exit 42 0" }));
    }

    [Test]
    public async Task An_exec_that_is_never_reaped_delays_the_inits_exit_only_for_the_wait()
    {
        var (exec, _) = NewExec(70);

        await InitExitOrder.RecordAsync(_init, new ProcessExit(3, DateTime.UtcNow), [exec], TimeSpan.FromMilliseconds(100), NullLogger.Instance);

        Assert.That(_observer.Events, Is.EqualTo(new[] { "exit 42 3" }));
        Assert.That(_init.State, Is.SameAs(InitStoppedState.Instance));
    }

    [Test]
    public async Task Without_execs_the_inits_exit_is_recorded_at_once()
    {
        await InitExitOrder.RecordAsync(_init, new ProcessExit(0, DateTime.UtcNow), [], TimeSpan.FromSeconds(10), NullLogger.Instance);
        Assert.That(_observer.Events, Is.EqualTo(new[] { "exit 42 0" }));
    }

    private (ExecProcess Exec, TaskCompletionSource<ProcessExit> Reaped) NewExec(int pid)
    {
        var reaped = new TaskCompletionSource<ProcessExit>(TaskCreationOptions.RunContinuationsAsynchronously);
        var json = Encoding.UTF8.GetBytes(SpecJson);
        var spec = ExecSpec.TryParse(json, out var problem) ?? throw new InvalidOperationException(problem);
        var exec = new ExecProcess(_runtime, _observer, NullLogger.Instance, pid, new Stdio(), null, reaped.Task, ByteString.CopyFrom(json), spec);
        return (exec, reaped);
    }
}
