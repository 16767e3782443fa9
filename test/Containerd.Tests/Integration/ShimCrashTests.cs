using System.Diagnostics;
using Containerd.Api.Containers;
using Containerd.Api.Execution;
using Containerd.Api.Types;
using Containerd.Shared.Native;
using Containerd.Tests.Support;
using Grpc.Core;
using Status = Containerd.Api.Types.Status;
using Task = System.Threading.Tasks.Task;
using EventType = Containerd.Api.Types.Event.Types.EventType;

namespace Containerd.Tests.Integration;

/// <summary>
/// A shim killed with SIGKILL: the daemon notices, kills and removes what the container
/// left, publishes the init's EXIT (137) and keeps the task as stopped until Delete.
/// </summary>
[TestFixture]
public sealed class ShimCrashTests : DaemonFixture
{
    [Test]
    public async Task KilledShimIsNoticedItsContainerRemovedAndItsTaskStopped()
    {
        var o = Client.Options();
        await using var events = await Client.SubscribeEventsAsync();
        var pid = await Client.RunAsync("orphan", "sleep", "300");
        var exec = await Client.ExecAsync("orphan", ["sleep", "300"]);
        var shim = Probe.ShimPid(Daemon, Client.Namespace, "orphan");
        // Exec returns before the pump relays EXEC_ADDED; killed sooner, the shim would take it along.
        await events.WaitForAsync(e => e.Type == EventType.ExecAdded && e.Pid == exec.Pid);

        var clock = Stopwatch.StartNew();
        var killedAt = DateTime.UtcNow;
        Libc.Kill(shim, 9);
        var exit = await events.WaitForExitAsync("orphan", pid);
        var published = clock.ElapsedMilliseconds;
        TestContext.Progress.WriteLine(
            $"shim killed: noticed after {NoticedAfter(killedAt, "orphan")} ms (daemon log), EXIT published after {published} ms " +
            "(runc delete --force waits for the container's pid namespace to empty, i.e. for PID 1 to reap its orphans)");

        Assert.Multiple(() =>
        {
            Assert.That(exit.ExitStatus, Is.EqualTo(137u), "the daemon killed the orphaned container");
            Assert.That(exit.ExitedAt, Is.Not.Null);
            Assert.That(Probe.IsAlive(pid) || Probe.IsAlive(exec.Pid), Is.False, "no container process survives its shim");
            // Everything the task held is gone already; only the record remains: its bundle, holding the tombstone.
            Assert.That(Leaks.Find(Daemon, Client.Namespace),
                Is.EqualTo(new[] { $"bundle directory {Path.Combine(Daemon.StateDir, "tasks", Client.Namespace, "orphan")}" }));
        });

        var info = (await Client.Tasks.InfoAsync(new InfoRequest { ContainerId = "orphan" }, o)).Task;
        var listed = (await Client.Tasks.ListAsync(new ListRequest(), o)).Tasks;
        var processes = (await Client.Tasks.ProcessesAsync(new ProcessesRequest { ContainerId = "orphan" }, o)).Processes;
        Assert.Multiple(() =>
        {
            Assert.That((info.Status, info.Pid), Is.EqualTo((Status.Stopped, pid)));
            Assert.That(listed.Select(t => (t.Id, t.Status)), Is.EqualTo(new[] { ("orphan", Status.Stopped) }));
            Assert.That(processes.Select(p => (p.Pid, p.Status, p.ExitStatus)), Is.EqualTo(new[] { (pid, Status.Stopped, 137u) }));
            Assert.That(Code(() => Client.Tasks.KillAsync(new KillRequest { ContainerId = "orphan", Signal = 9 }, o).ResponseAsync),
                Is.EqualTo(StatusCode.NotFound));
            Assert.That(Code(() => Client.ExecAsync("orphan", ["true"])), Is.EqualTo(StatusCode.FailedPrecondition));
            Assert.That(Code(() => Client.Tasks.StartAsync(new StartRequest { ContainerId = "orphan" }, o).ResponseAsync),
                Is.EqualTo(StatusCode.FailedPrecondition));
            Assert.That(Code(() => Client.Tasks.CreateAsync(new CreateRequest { ContainerId = "orphan" }, o).ResponseAsync),
                Is.EqualTo(StatusCode.AlreadyExists));
        });

        Assert.That(events.Sequence("orphan"), Is.EqualTo(new[]
        {
            (EventType.Create, "orphan", pid),
            (EventType.Start, "orphan", pid),
            (EventType.ExecAdded, "orphan", exec.Pid),
            (EventType.Exit, "orphan", exec.Pid),
            (EventType.Exit, "orphan", pid),
        }), "the exec's and the init's EXITs are published once, by the daemon, for the shim that cannot");
        var deleted = await Client.Tasks.DeleteAsync(new DeleteRequest { ContainerId = "orphan" }, o);
        await KilledTask.AssertOrphanDeletedAsync("orphan", deleted, pid, exit);
        Assert.That(Code(() => Client.Tasks.InfoAsync(new InfoRequest { ContainerId = "orphan" }, o).ResponseAsync),
            Is.EqualTo(StatusCode.NotFound));

        // The id is free again.
        await CreateStartKillDeleteAsync(Client, "orphan", events);
        await Client.Containers.DeleteAsync(new DeleteContainerRequest { Id = "orphan" }, o);
    }

    [Test]
    public async Task ShimKilledWhileTheDaemonIsDown()
    {
        var pid = await Client.RunAsync("lonely", "sleep", "300");
        var shim = Probe.ShimPid(Daemon, Client.Namespace, "lonely");
        await Daemon.KillAsync();
        Libc.Kill(shim, 9);
        await Probe.ExitOfAsync(shim, "the shim");
        Assert.That(Probe.IsAlive(pid), "a container outlives its shim");
        await Daemon.RestartAsync();

        using var client = Daemon.Connect(Client.Namespace);
        var o = client.Options();
        Assert.That(Probe.IsAlive(pid), Is.False, "the restarted daemon removed the orphaned container");
        var info = (await client.Tasks.InfoAsync(new InfoRequest { ContainerId = "lonely" }, o)).Task;
        Assert.That((info.Status, info.Pid), Is.EqualTo((Status.Stopped, pid)));
        await using var events = await client.SubscribeEventsAsync();
        var exit = await events.WaitForExitAsync("lonely", pid);
        var deleted = await client.Tasks.DeleteAsync(new DeleteRequest { ContainerId = "lonely" }, o);
        Assert.That(events.Sequence(), Is.EqualTo(new[] { (EventType.Exit, "lonely", pid) }), "the first subscriber gets the missed exit, once");
        await KilledTask.AssertOrphanDeletedAsync("lonely", deleted, pid, exit);
        await client.Containers.DeleteAsync(new DeleteContainerRequest { Id = "lonely" }, o);
    }

    [Test]
    public async Task KilledShimOfAReattachedTaskIsNoticed()
    {
        var pid = await Client.RunAsync("adopted", "sleep", "300");
        await Daemon.StopAsync();
        // Re-attached, the shim is no longer the daemon's child: its death is seen through /proc.
        await Daemon.RestartAsync();
        using var client = Daemon.Connect(Client.Namespace);
        var o = client.Options();
        await using var events = await client.SubscribeEventsAsync();

        Libc.Kill(Probe.ShimPid(Daemon, Client.Namespace, "adopted"), 9);
        var exit = await events.WaitForExitAsync("adopted", pid);
        Assert.That((await client.Tasks.InfoAsync(new InfoRequest { ContainerId = "adopted" }, o)).Task.Status, Is.EqualTo(Status.Stopped));
        var deleted = await client.Tasks.DeleteAsync(new DeleteRequest { ContainerId = "adopted" }, o);
        Assert.That(events.Sequence(), Is.EqualTo(new[] { (EventType.Exit, "adopted", pid) }));
        await KilledTask.AssertOrphanDeletedAsync("adopted", deleted, pid, exit);
        await client.Containers.DeleteAsync(new DeleteContainerRequest { Id = "adopted" }, o);
    }

    internal static async Task CreateStartKillDeleteAsync(DaemonClient client, string id, EventRecorder events)
    {
        var o = client.Options();
        var pid = (await client.Tasks.CreateAsync(DaemonClient.CreateTaskRequest(id), o)).Pid;
        await client.Tasks.StartAsync(new StartRequest { ContainerId = id }, o);
        Assert.That((await client.Tasks.InfoAsync(new InfoRequest { ContainerId = id }, o)).Task.Status, Is.EqualTo(Status.Running));
        await client.Tasks.KillAsync(new KillRequest { ContainerId = id, Signal = 9 }, o);
        var exit = await events.WaitForExitAsync(id, pid);
        var deleted = await client.Tasks.DeleteAsync(new DeleteRequest { ContainerId = id }, o);
        KilledTask.AssertDeleted(id, deleted, pid, exit);
    }

    /// <summary>When the daemon logged the shim of <paramref name="id"/> as exited, in ms after <paramref name="killedAt"/>.</summary>
    private long NoticedAfter(DateTime killedAt, string id)
    {
        // Log lines start with a UTC timestamp: 2026-01-01T00:00:00.000Z
        var line = Daemon.Log.Split('\n').LastOrDefault(l => l.Contains($" {id} ", StringComparison.Ordinal) && l.Contains("has exited", StringComparison.Ordinal));
        if (line is null || !DateTime.TryParse(line.Split(' ')[0], null, System.Globalization.DateTimeStyles.AdjustToUniversal, out var at))
            return -1;
        return (long)(at - killedAt).TotalMilliseconds;
    }

    private static StatusCode Code(Func<Task> call)
    {
        var e = Assert.ThrowsAsync<RpcException>(async () => await call());
        return e!.StatusCode;
    }
}
