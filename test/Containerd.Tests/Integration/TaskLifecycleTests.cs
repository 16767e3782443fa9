using Containerd.Api.Containers;
using Containerd.Api.Execution;
using Containerd.Api.Types;
using Task = System.Threading.Tasks.Task;
using Containerd.Tests.Support;
using EventType = Containerd.Api.Types.Event.Types.EventType;

namespace Containerd.Tests.Integration;

[TestFixture]
public sealed class TaskLifecycleTests : DaemonFixture
{
    [Test]
    public async Task FullLifecycleWithEventsAndStatuses()
    {
        await using var events = await Client.SubscribeEventsAsync();
        var o = Client.Options();

        var pid = await Client.CreateTaskAsync("life", ["sleep", "300"]);
        Assert.That(pid, Is.GreaterThan(0u));
        await events.WaitForAsync(e => e.Type == EventType.Create && e.Id == "life" && e.Pid == pid);

        var info = await Client.Tasks.InfoAsync(new InfoRequest { ContainerId = "life" }, o);
        Assert.Multiple(() =>
        {
            Assert.That(info.Task.Status, Is.EqualTo(Status.Created));
            Assert.That(info.Task.Pid, Is.EqualTo(pid));
            Assert.That(info.Task.ContainerId, Is.EqualTo("life"));
        });

        await Client.Tasks.StartAsync(new StartRequest { ContainerId = "life" }, o);
        await events.WaitForAsync(e => e.Type == EventType.Start && e.Id == "life");
        info = await Client.Tasks.InfoAsync(new InfoRequest { ContainerId = "life" }, o);
        Assert.That(info.Task.Status, Is.EqualTo(Status.Running));

        var list = await Client.Tasks.ListAsync(new ListRequest(), o);
        Assert.That(list.Tasks.Select(t => (t.ContainerId, t.Pid, t.Status)), Is.EquivalentTo(new[] { ("life", pid, Status.Running) }));

        var exec = await Client.ExecAsync("life", ["sh", "-c", "exit 3"]);
        await events.WaitForAsync(e => e.Type == EventType.ExecAdded && e.Pid == exec.Pid);
        var execExit = await events.WaitForExitAsync("life", exec.Pid);
        Assert.That(execExit.ExitStatus, Is.EqualTo(3u));
        var deleted = await Client.Tasks.DeleteProcessAsync(new DeleteProcessRequest { ContainerId = "life", Pid = exec.Pid }, o);
        Assert.Multiple(() =>
        {
            Assert.That(deleted.ExitStatus, Is.EqualTo(3u));
            Assert.That(deleted.ExitedAt.ToDateTime(), Is.EqualTo(execExit.ExitedAt.ToDateTime()));
        });

        await Client.Tasks.PauseAsync(new PauseRequest { ContainerId = "life" }, o);
        await events.WaitForAsync(e => e.Type == EventType.Paused && e.Id == "life");
        info = await Client.Tasks.InfoAsync(new InfoRequest { ContainerId = "life" }, o);
        Assert.That(info.Task.Status, Is.EqualTo(Status.Paused));
        await Client.Tasks.ResumeAsync(new ResumeRequest { ContainerId = "life" }, o);
        info = await Client.Tasks.InfoAsync(new InfoRequest { ContainerId = "life" }, o);
        Assert.That(info.Task.Status, Is.EqualTo(Status.Running));

        var before = DateTime.UtcNow.AddSeconds(-1);
        await Client.Tasks.KillAsync(new KillRequest { ContainerId = "life", Signal = 9 }, o);
        var exit = await events.WaitForExitAsync("life", pid);
        Assert.Multiple(() =>
        {
            Assert.That(exit.ExitStatus, Is.EqualTo(137u), "killed by signal 9 reports 128+9");
            Assert.That(exit.ExitedAt, Is.Not.Null);
            Assert.That(exit.ExitedAt.ToDateTime(), Is.GreaterThan(before).And.LessThan(DateTime.UtcNow.AddSeconds(1)));
        });

        info = await Client.Tasks.InfoAsync(new InfoRequest { ContainerId = "life" }, o);
        Assert.That(info.Task.Status, Is.EqualTo(Status.Stopped));

        var result = await Client.Tasks.DeleteAsync(new DeleteRequest { ContainerId = "life" }, o);
        KilledTask.AssertDeleted("life", result, pid, exit);
        Assert.That(events.Sequence(), Is.EqualTo(new[]
        {
            (EventType.Create, "life", pid),
            (EventType.Start, "life", pid),
            (EventType.ExecAdded, "life", exec.Pid),
            (EventType.Exit, "life", exec.Pid),
            (EventType.Paused, "life", pid),
            (EventType.Exit, "life", pid),
        }), "every step published once, in order (resume publishes nothing)");

        // The container record outlives its task.
        var container = await Client.Containers.GetAsync(new GetContainerRequest { Id = "life" }, o);
        Assert.That(container.Container.Id, Is.EqualTo("life"));
        Assert.That((await Client.Tasks.ListAsync(new ListRequest(), o)).Tasks, Is.Empty);
        await Client.Containers.DeleteAsync(new DeleteContainerRequest { Id = "life" }, o);
    }

    [Test]
    public async Task ExitStatusOfAProcessThatEndsByItself()
    {
        await using var events = await Client.SubscribeEventsAsync();
        var pid = await Client.RunAsync("selfexit", "sh", "-c", "exit 42");
        var exit = await events.WaitForExitAsync("selfexit", pid);
        Assert.That(exit.ExitStatus, Is.EqualTo(42u));
        var deleted = await Client.Tasks.DeleteAsync(new DeleteRequest { ContainerId = "selfexit" }, Client.Options());
        Assert.That(deleted.ExitStatus, Is.EqualTo(42u));
        await Client.Containers.DeleteAsync(new DeleteContainerRequest { Id = "selfexit" }, Client.Options());
    }

    [Test]
    public async Task KillAllAndKillOfAnExecPid()
    {
        await using var events = await Client.SubscribeEventsAsync();
        var o = Client.Options();
        var pid = await Client.RunAsync("killer", "sleep", "300");
        var exec = await Client.ExecAsync("killer", ["sleep", "300"]);

        await Client.Tasks.KillAsync(new KillRequest { ContainerId = "killer", Signal = 15, Pid = exec.Pid }, o);
        var execExit = await events.WaitForExitAsync("killer", exec.Pid);
        Assert.That(execExit.ExitStatus, Is.EqualTo(143u));
        Assert.That((await Client.Tasks.InfoAsync(new InfoRequest { ContainerId = "killer" }, o)).Task.Status, Is.EqualTo(Status.Running));
        await Client.Tasks.DeleteProcessAsync(new DeleteProcessRequest { ContainerId = "killer", Pid = exec.Pid }, o);

        await Client.Tasks.KillAsync(new KillRequest { ContainerId = "killer", Signal = 9, All = true }, o);
        var exit = await events.WaitForExitAsync("killer", pid);
        var deleted = await Client.Tasks.DeleteAsync(new DeleteRequest { ContainerId = "killer" }, o);
        KilledTask.AssertDeleted("killer", deleted, pid, exit);
        await Client.Containers.DeleteAsync(new DeleteContainerRequest { Id = "killer" }, o);
    }

    [Test]
    public async Task ProcessesListsInitAndExecsWithTheirState()
    {
        await using var events = await Client.SubscribeEventsAsync();
        var o = Client.Options();
        var pid = await Client.RunAsync("procs", "sleep", "300");
        var running = await Client.ExecAsync("procs", ["sleep", "300"]);
        var exited = await Client.ExecAsync("procs", ["sh", "-c", "exit 5"]);
        await events.WaitForExitAsync("procs", exited.Pid);

        var processes = (await Client.Tasks.ProcessesAsync(new ProcessesRequest { ContainerId = "procs" }, o)).Processes;
        Assert.Multiple(() =>
        {
            Assert.That(processes.Select(p => p.Pid), Does.Contain(pid).And.Contain(running.Pid));
            var exec = processes.Single(p => p.Pid == running.Pid);
            Assert.That(exec.Status, Is.EqualTo(Status.Running));
            var done = processes.SingleOrDefault(p => p.Pid == exited.Pid);
            Assert.That(done, Is.Not.Null, "an exited exec stays listed until DeleteProcess");
            Assert.That(done!.Status, Is.EqualTo(Status.Stopped));
            Assert.That(done.ExitStatus, Is.EqualTo(5u));
        });

        await Client.Tasks.DeleteProcessAsync(new DeleteProcessRequest { ContainerId = "procs", Pid = exited.Pid }, o);
        await Client.RemoveAsync("procs");
    }

    [Test]
    public async Task DeleteOfACreatedTaskThatNeverStarted()
    {
        await Client.CreateTaskAsync("created", ["sleep", "300"]);
        var deleted = await Client.Tasks.DeleteAsync(new DeleteRequest { ContainerId = "created" }, Client.Options());
        Assert.That(deleted.ContainerId, Is.EqualTo("created"));
        await Client.Containers.DeleteAsync(new DeleteContainerRequest { Id = "created" }, Client.Options());
    }
}
