using Containerd.Api.Shim;
using Containerd.Daemon.Tasks;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using ExecutionApi = Containerd.Api.Execution;
using Types = Containerd.Api.Types;

namespace Containerd.UnitTests.Daemon.Tasks;

/// <summary>A task whose shim died answers every call as a shim answers for a stopped task.</summary>
public sealed class StoppedTaskTests
{
    private const uint InitPid = 4242;
    private static readonly Timestamp ExitedAt = Timestamp.FromDateTime(new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc));

    private readonly StoppedTask _task = new(
        "ns", "web", InitPid,
        new Stdio { Stdin = "/in", Stdout = "/out", Stderr = "/err" },
        new TaskTombstone(137, ExitedAt));

    [Test]
    public async Task Info_and_List_describe_it_as_stopped()
    {
        var spec = new Any { TypeUrl = "types.containerd.io/opencontainers/runtime-spec/1/Spec" };
        foreach (var described in new[]
                 {
                     await _task.DescribeAsync(spec, CancellationToken.None),
                     await _task.DescribeForListAsync(spec, CancellationToken.None),
                 })
        {
            Assert.That(described, Is.EqualTo(new Types.Task
            {
                Id = "web", ContainerId = "web", Pid = InitPid, Status = Types.Status.Stopped, Spec = spec,
                Stdin = "/in", Stdout = "/out", Stderr = "/err",
            }));
        }
    }

    [Test]
    public async Task Processes_lists_the_init_as_stopped_with_its_exit()
    {
        var processes = await _task.ProcessesAsync(CancellationToken.None);
        Assert.That(processes, Is.EqualTo(new[]
        {
            new Types.Process { Pid = InitPid, Status = Types.Status.Stopped, ExitStatus = 137, Stdin = "/in", Stdout = "/out", Stderr = "/err" },
        }));
    }

    [Test]
    public void Start_pause_resume_and_exec_are_refused_as_for_a_stopped_task()
    {
        Assert.Multiple(() =>
        {
            ExpectStatus(() => _task.StartAsync(CancellationToken.None), StatusCode.FailedPrecondition, "cannot start task \"web\": it is stopped");
            ExpectStatus(() => _task.PauseAsync(CancellationToken.None), StatusCode.FailedPrecondition, "cannot pause task \"web\": it is stopped");
            ExpectStatus(() => _task.ResumeAsync(CancellationToken.None), StatusCode.FailedPrecondition, "cannot resume task \"web\": it is stopped");
            ExpectStatus(() => _task.ExecAsync(new ExecutionApi.ExecRequest { ContainerId = "web" }, CancellationToken.None),
                StatusCode.FailedPrecondition, "cannot exec in task \"web\": it is stopped");
        });
    }

    [Test]
    public void Kill_finds_no_process()
    {
        Assert.Multiple(() =>
        {
            ExpectStatus(() => _task.KillAsync(new ExecutionApi.KillRequest { ContainerId = "web", Signal = 9 }, CancellationToken.None),
                StatusCode.NotFound, "cannot kill task \"web\": process already finished");
            ExpectStatus(() => _task.KillAsync(new ExecutionApi.KillRequest { ContainerId = "web", Signal = 9, All = true }, CancellationToken.None),
                StatusCode.NotFound, "cannot kill task \"web\": process already finished");
            ExpectStatus(() => _task.KillAsync(new ExecutionApi.KillRequest { ContainerId = "web", Signal = 9, Pid = InitPid }, CancellationToken.None),
                StatusCode.NotFound, "cannot kill task \"web\": process already finished");
            ExpectStatus(() => _task.KillAsync(new ExecutionApi.KillRequest { ContainerId = "web", Signal = 9, Pid = 7 }, CancellationToken.None),
                StatusCode.NotFound, "process 7 not found in container \"web\"");
        });
    }

    [Test]
    public void DeleteProcess_finds_no_exec()
    {
        ExpectStatus(() => _task.DeleteProcessAsync(7, CancellationToken.None), StatusCode.NotFound, "process 7 not found in container \"web\"");
    }

    [Test]
    public async Task CloseStdin_of_the_init_succeeds_and_of_anything_else_finds_nothing()
    {
        Assert.That(await _task.CloseStdinAsync(0, CancellationToken.None), Is.EqualTo(new Empty()));
        Assert.That(await _task.CloseStdinAsync(InitPid, CancellationToken.None), Is.EqualTo(new Empty()));
        ExpectStatus(() => _task.CloseStdinAsync(7, CancellationToken.None), StatusCode.NotFound, "process 7 not found in container \"web\"");
    }

    [Test]
    public async Task Pty_of_a_terminal_init_is_harmless_without_a_terminal_refused_and_of_an_unknown_pid_finds_nothing()
    {
        var terminal = new StoppedTask("ns", "tty", InitPid, new Stdio { Terminal = true }, new TaskTombstone(0, ExitedAt));
        Assert.That(await terminal.ResizePtyAsync(0, 80, 24, CancellationToken.None), Is.EqualTo(new Empty()));
        Assert.That(await terminal.ResizePtyAsync(InitPid, 80, 24, CancellationToken.None), Is.EqualTo(new Empty()));
        ExpectStatus(() => _task.ResizePtyAsync(0, 80, 24, CancellationToken.None), StatusCode.FailedPrecondition,
            $"process {InitPid} in task \"web\" has no terminal");
        ExpectStatus(() => terminal.ResizePtyAsync(7, 80, 24, CancellationToken.None), StatusCode.NotFound, "process 7 not found in container \"tty\"");
    }

    [Test]
    public void ReopenLog_says_the_container_is_not_running_and_of_an_unknown_pid_finds_nothing()
    {
        ExpectStatus(() => _task.ReopenLogAsync(0, CancellationToken.None), StatusCode.FailedPrecondition, "container \"web\" is not running");
        ExpectStatus(() => _task.ReopenLogAsync(InitPid, CancellationToken.None), StatusCode.FailedPrecondition, "container \"web\" is not running");
        ExpectStatus(() => _task.ReopenLogAsync(7, CancellationToken.None), StatusCode.NotFound, "process 7 not found in container \"web\"");
    }

    private static void ExpectStatus(AsyncTestDelegate call, StatusCode code, string message)
    {
        var error = Assert.ThrowsAsync<RpcException>(call);
        Assert.That((error!.StatusCode, error.Status.Detail), Is.EqualTo((code, message)));
    }
}
