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
/// Tasks outlive the daemon: killed (SIGKILL) or stopped (SIGTERM), a restarted daemon
/// re-attaches every shim before it serves, and learns every exit that happened meanwhile.
/// </summary>
[TestFixture]
public sealed class RestartTests : DaemonFixture
{
    private const string TrapThenExit7 = "trap 'exit 7' TERM; while :; do sleep 0.1; done";
    private const string TrapThenExit5 = "trap 'exit 5' TERM; while :; do sleep 0.1; done";

    [Test]
    public async Task TwentyRunningTasksSurviveAKilledDaemon()
    {
        var ids = Enumerable.Range(0, 20).Select(i => $"survivor{i}").ToArray();
        var pids = await RunManyAsync(Client, ids, logDir: Daemon.Dir);
        var before = (await Client.Tasks.ListAsync(new ListRequest(), Client.Options())).Tasks.ToList();
        Assert.That(before.Select(t => (t.Id, t.Pid, t.Status, t.Stdout, t.Stderr)),
            Is.EquivalentTo(ids.Select(id => (id, pids[id], Status.Running, LogPath(Daemon.Dir, id, "out"), LogPath(Daemon.Dir, id, "err")))));

        await Daemon.KillAsync();
        Assert.That(pids.Values.Where(pid => !Probe.IsAlive(pid)), Is.Empty, "containers outlive a killed daemon");
        var clock = Stopwatch.StartNew();
        await Daemon.RestartAsync();
        TestContext.Progress.WriteLine($"restart with 20 running tasks: socket accepts after {clock.ElapsedMilliseconds} ms");

        using var client = Daemon.Connect(Client.Namespace);
        var o = client.Options();
        // Each task comes back whole: id, pid, status, stdio paths, terminal and spec as before the crash.
        var listed = (await client.Tasks.ListAsync(new ListRequest(), o)).Tasks;
        Assert.That(listed, Is.EquivalentTo(before));
        var infos = await Task.WhenAll(ids.Select(async id => (await client.Tasks.InfoAsync(new InfoRequest { ContainerId = id }, o)).Task));
        Assert.That(infos, Is.EquivalentTo(before), "Info agrees with List");

        await using var events = await client.SubscribeEventsAsync();
        var results = await Task.WhenAll(ids.Select(async id =>
        {
            var exec = await client.ExecAsync(id, ["sh", "-c", "exit 3"]);
            var execExit = await events.WaitForExitAsync(id, exec.Pid);
            var execDeleted = await client.Tasks.DeleteProcessAsync(new DeleteProcessRequest { ContainerId = id, Pid = exec.Pid }, o);

            await client.Tasks.KillAsync(new KillRequest { ContainerId = id, Signal = 9 }, o);
            var exit = await events.WaitForExitAsync(id, pids[id]);
            var deleted = await client.Tasks.DeleteAsync(new DeleteRequest { ContainerId = id }, o);
            await client.Containers.DeleteAsync(new DeleteContainerRequest { Id = id }, o);
            return (Id: id, ExecPid: exec.Pid, ExecExit: execExit, ExecDeleted: execDeleted, Exit: exit, Deleted: deleted);
        }));

        // Asserted here, not inside the concurrent tasks: NUnit's assertion context is the test's, not one per task.
        foreach (var r in results)
        {
            Assert.Multiple(() =>
            {
                Assert.That((r.ExecExit.ExitStatus, r.ExecDeleted.ExitStatus), Is.EqualTo((3u, 3u)), r.Id);
                Assert.That(r.ExecDeleted.ExitedAt, Is.EqualTo(r.ExecExit.ExitedAt), r.Id);
                Assert.That(events.Sequence(r.Id), Is.EqualTo(new[]
                {
                    (EventType.ExecAdded, r.Id, r.ExecPid),
                    (EventType.Exit, r.Id, r.ExecPid),
                    (EventType.Exit, r.Id, pids[r.Id]),
                }));
            });
            KilledTask.AssertDeleted(r.Id, r.Deleted, pids[r.Id], r.Exit);
        }
    }

    [Test]
    public async Task SigtermFinishesCallsInFlightExitsZeroAndLeavesTasksRunning()
    {
        var steady = await Client.RunAsync("steady", "sleep", "300");
        await Client.CreateContainerAsync("inflight", "sleep", "300");
        // A daemon whose Creates wait at shim-created until it starts stopping:
        // the signal below is sure to land while the Create is in flight.
        await Daemon.StopAsync();
        await Daemon.RestartAsync(new DaemonStartOptions(Environment: new Dictionary<string, string>
        {
            ["CONTAINERD_TEST_HOLD_AT"] = "shim-created",
        }));
        using var holding = Daemon.Connect(Client.Namespace);
        var request = new CreateRequest { ContainerId = "inflight" };
        request.Rootfs.Add(OciSpecs.RootfsBind(TestPaths.Rootfs));
        var create = holding.Tasks.CreateAsync(request, holding.Options()).ResponseAsync;
        await Probe.UntilAsync(() => Daemon.Log.Contains("shim-created: holding the create") || create.IsCompleted, "the create to reach its hold point");
        Assert.That(create.IsCompleted, Is.False, $"the create is in flight when SIGTERM comes ({create.Exception?.InnerException?.Message})");

        var clock = Stopwatch.StartNew();
        await Daemon.StopAsync();
        TestContext.Progress.WriteLine($"SIGTERM to exit (one create in flight): {clock.ElapsedMilliseconds} ms");
        var created = await create;
        Assert.Multiple(() =>
        {
            Assert.That(Daemon.ExitCode, Is.EqualTo(0));
            Assert.That(Probe.IsAlive(steady), "a running task outlives a stopped daemon");
            Assert.That(Probe.IsAlive(created.Pid), "the create in flight finished, and its task outlives the daemon");
        });
        var refused = Assert.ThrowsAsync<RpcException>(() => holding.Tasks.ListAsync(new ListRequest(), holding.Options()).ResponseAsync);
        Assert.That(refused!.StatusCode, Is.EqualTo(StatusCode.Unavailable));

        await Daemon.RestartAsync();
        using var client = Daemon.Connect(Client.Namespace);
        var o = client.Options();
        var steadyInfo = (await client.Tasks.InfoAsync(new InfoRequest { ContainerId = "steady" }, o)).Task;
        var inflightInfo = (await client.Tasks.InfoAsync(new InfoRequest { ContainerId = "inflight" }, o)).Task;
        Assert.That((steadyInfo.Status, steadyInfo.Pid), Is.EqualTo((Status.Running, steady)));
        Assert.That((inflightInfo.Status, inflightInfo.Pid), Is.EqualTo((Status.Created, created.Pid)));
        await client.RemoveAsync("steady");
        await client.RemoveAsync("inflight");
    }

    [Test]
    public async Task ExitsWhileTheDaemonIsDownAreReportedOnceWithTheirOriginalTimes()
    {
        var ns = Client.Namespace;
        uint ends, lives;
        ExecResponse execDone, execEnds, execRuns;
        await using (var before = await Client.SubscribeEventsAsync())
        {
            ends = await Client.RunAsync("ends", "sh", "-c", TrapThenExit7);
            lives = await Client.RunAsync("lives", "sleep", "300");
            execDone = await Client.ExecAsync("lives", ["sh", "-c", "exit 3"]);
            execEnds = await Client.ExecAsync("lives", ["sh", "-c", TrapThenExit5]);
            execRuns = await Client.ExecAsync("lives", ["sleep", "300"]);
            await before.WaitForExitAsync("lives", execDone.Pid);
            // What was seen is on disk: a daemon killed now must not publish it again.
            await Probe.WaitForPersistedAsync(Daemon, ns, before, "ends", "lives");
        }
        var persistedBeforeCrash = Probe.PersistedEventSequence(Daemon, ns, "lives");

        await Daemon.KillAsync();
        var signalledAt = DateTime.UtcNow;
        // A pid namespace's init gets only the signals it handles: the trap makes TERM one of them.
        Libc.Kill((int)ends, 15);
        Libc.Kill((int)execEnds.Pid, 15);
        await Task.WhenAll(Probe.ExitOfAsync((int)ends, "the task ends"), Probe.ExitOfAsync((int)execEnds.Pid, "the exec that ends"));
        var restartedAt = DateTime.UtcNow;
        await Daemon.RestartAsync();

        using var client = Daemon.Connect(ns);
        var o = client.Options();
        // Known before anyone subscribed.
        var endsInfo = (await client.Tasks.InfoAsync(new InfoRequest { ContainerId = "ends" }, o)).Task;
        var endsProcesses = (await client.Tasks.ProcessesAsync(new ProcessesRequest { ContainerId = "ends" }, o)).Processes;
        var livesInfo = (await client.Tasks.InfoAsync(new InfoRequest { ContainerId = "lives" }, o)).Task;
        var livesProcesses = (await client.Tasks.ProcessesAsync(new ProcessesRequest { ContainerId = "lives" }, o)).Processes;
        Assert.Multiple(() =>
        {
            Assert.That((endsInfo.Status, endsInfo.Pid), Is.EqualTo((Status.Stopped, ends)));
            Assert.That(endsProcesses.Single(p => p.Pid == ends).ExitStatus, Is.EqualTo(7u));
            Assert.That((livesInfo.Status, livesInfo.Pid), Is.EqualTo((Status.Running, lives)));
            Assert.That(Describe(livesProcesses, execRuns.Pid), Is.EqualTo("Running 0"));
            Assert.That(Describe(livesProcesses, execEnds.Pid), Is.EqualTo("Stopped 5"));
            Assert.That(Describe(livesProcesses, execDone.Pid), Is.EqualTo("Stopped 3"));
        });

        // The first subscriber since the restart gets the exits the daemon missed, once.
        await using var first = await client.SubscribeEventsAsync();
        var endsExit = await first.WaitForExitAsync("ends", ends);
        var execExit = await first.WaitForExitAsync("lives", execEnds.Pid);
        Assert.Multiple(() =>
        {
            Assert.That((endsExit.ExitStatus, execExit.ExitStatus), Is.EqualTo((7u, 5u)));
            foreach (var exit in new[] { endsExit, execExit })
            {
                Assert.That(exit.ExitedAt.ToDateTime(), Is.InRange(signalledAt.AddSeconds(-1), restartedAt),
                    "an exit carries the time it happened, not the time the daemon learned of it");
            }
        });

        // A second subscriber gets only what happens from now on.
        await using var second = await client.SubscribeEventsAsync();
        var marker = await client.ExecAsync("lives", ["true"]);
        await second.WaitForExitAsync("lives", marker.Pid);
        await first.WaitForExitAsync("lives", marker.Pid);
        // Exactly these, in this order (across tasks the order is not defined, so per task): each
        // missed exit once, nothing published before the crash again, then what happens now.
        Assert.Multiple(() =>
        {
            Assert.That(second.Sequence(), Is.EqualTo(new[] { (EventType.ExecAdded, "lives", marker.Pid), (EventType.Exit, "lives", marker.Pid) }),
                "the backlog goes to the first subscriber only");
            Assert.That(first.Sequence("ends"), Is.EqualTo(new[] { (EventType.Exit, "ends", ends) }));
            Assert.That(first.Sequence("lives"), Is.EqualTo(new[]
            {
                (EventType.Exit, "lives", execEnds.Pid),
                (EventType.ExecAdded, "lives", marker.Pid),
                (EventType.Exit, "lives", marker.Pid),
            }), "events published before the crash are not published again");
            Assert.That(first.Events.Select(e => e.Id), Is.All.AnyOf("ends", "lives"));
        });

        // Delete and DeleteProcess return the same status and time as the events.
        var execDeleted = await client.Tasks.DeleteProcessAsync(new DeleteProcessRequest { ContainerId = "lives", Pid = execEnds.Pid }, o);
        var doneDeleted = await client.Tasks.DeleteProcessAsync(new DeleteProcessRequest { ContainerId = "lives", Pid = execDone.Pid }, o);
        await client.Tasks.DeleteProcessAsync(new DeleteProcessRequest { ContainerId = "lives", Pid = marker.Pid }, o);
        var endsDeleted = await client.Tasks.DeleteAsync(new DeleteRequest { ContainerId = "ends" }, o);
        Assert.Multiple(() =>
        {
            Assert.That((execDeleted.ExitStatus, execDeleted.ExitedAt), Is.EqualTo((5u, execExit.ExitedAt)));
            Assert.That(doneDeleted.ExitStatus, Is.EqualTo(3u));
            Assert.That((endsDeleted.ExitStatus, endsDeleted.ExitedAt), Is.EqualTo((7u, endsExit.ExitedAt)));
        });

        // Nothing is published twice, not even by the next daemon.
        var livesSeen = (ulong)first.Events.Count(e => e.Id == "lives");
        await Probe.UntilPersistedAsync(Daemon, ns, "lives", persistedBeforeCrash + livesSeen);
        await Daemon.StopAsync();
        await Daemon.RestartAsync();
        using var again = Daemon.Connect(ns);
        await using var third = await again.SubscribeEventsAsync();
        var marker2 = await again.ExecAsync("lives", ["true"]);
        await third.WaitForExitAsync("lives", marker2.Pid);
        Assert.That(third.Sequence(), Is.EqualTo(new[] { (EventType.ExecAdded, "lives", marker2.Pid), (EventType.Exit, "lives", marker2.Pid) }));

        await again.RemoveAsync("lives");
        await again.Containers.DeleteAsync(new DeleteContainerRequest { Id = "ends" }, again.Options());
    }

    /// <summary>containerd issue 6771: a container that exits while the daemon is down must not leak its shim.</summary>
    [Test]
    public async Task ContainerThatExitsWhileTheDaemonIsDownLeavesNothingAfterDelete()
    {
        var pid = await Client.RunAsync("gone", "sleep", "300");
        var shim = Probe.ShimPid(Daemon, Client.Namespace, "gone");
        await Daemon.KillAsync();
        Libc.Kill((int)pid, 9);
        await Probe.ExitOfAsync((int)pid, "the container");
        await Daemon.RestartAsync();

        using var client = Daemon.Connect(Client.Namespace);
        var o = client.Options();
        Assert.That((await client.Tasks.InfoAsync(new InfoRequest { ContainerId = "gone" }, o)).Task.Status, Is.EqualTo(Status.Stopped));
        var deleted = await client.Tasks.DeleteAsync(new DeleteRequest { ContainerId = "gone" }, o);
        KilledTask.AssertDeleted("gone", deleted, pid);
        await Probe.ExitOfAsync(shim, "the shim");
        await Leaks.AssertNoneAsync(Daemon, Client.Namespace);
        await client.Containers.DeleteAsync(new DeleteContainerRequest { Id = "gone" }, o);
    }

    [Test]
    public async Task StdioOfAReattachedTaskKeepsFlowing()
    {
        using var stdin = new Fifo("stdin");
        using var stdout = new Fifo("stdout");
        var output = stdout.StartReading();
        var pid = await Client.CreateTaskAsync("talker", ["sh", "-c", "read a; echo first $a; read b; echo second $b"],
            stdin: stdin.Path_, stdout: stdout.Path_);
        await Client.Tasks.StartAsync(new StartRequest { ContainerId = "talker" }, Client.Options());
        // The client keeps its end of stdin open across the restart (closing it would be EOF).
        await using var input = new FileStream(stdin.Path_, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1);
        await input.WriteAsync("one\n"u8.ToArray());
        await input.FlushAsync();

        await Daemon.KillAsync();
        await Daemon.RestartAsync();
        using var client = Daemon.Connect(Client.Namespace);
        var o = client.Options();
        var info = (await client.Tasks.InfoAsync(new InfoRequest { ContainerId = "talker" }, o)).Task;
        Assert.That((info.Status, info.Pid, info.Stdin, info.Stdout, info.Stderr),
            Is.EqualTo((Status.Running, pid, stdin.Path_, stdout.Path_, "")));

        await using var events = await client.SubscribeEventsAsync();
        await input.WriteAsync("two\n"u8.ToArray());
        await input.FlushAsync();
        Assert.That((await events.WaitForExitAsync("talker", pid)).ExitStatus, Is.EqualTo(0u));
        Assert.That(await output.WaitAsync(TimeSpan.FromSeconds(10)), Is.EqualTo("first one\nsecond two\n"));
        await client.RemoveAsync("talker");
    }

    private static string Describe(IEnumerable<Containerd.Api.Types.Process> processes, uint pid) =>
        processes.SingleOrDefault(p => p.Pid == pid) is { } p ? $"{p.Status} {p.ExitStatus}" : "missing";

    /// <summary>
    /// Runs `sleep 300` tasks, a few at a time; returns their init pids. With <paramref name="logDir"/>,
    /// each task's stdout and stderr go to files there (see <see cref="LogPath"/>).
    /// </summary>
    internal static async Task<Dictionary<string, uint>> RunManyAsync(DaemonClient client, IEnumerable<string> ids, string? logDir = null)
    {
        var pids = new Dictionary<string, uint>();
        foreach (var chunk in ids.Chunk(5))
        {
            foreach (var (id, pid) in await Task.WhenAll(chunk.Select(async id => (id, await RunAsync(id)))))
                pids[id] = pid;
        }
        return pids;

        async Task<uint> RunAsync(string id)
        {
            if (logDir is null)
                return await client.RunAsync(id, "sleep", "300");
            var pid = await client.CreateTaskAsync(id, ["sleep", "300"], stdout: LogPath(logDir, id, "out"), stderr: LogPath(logDir, id, "err"));
            await client.Tasks.StartAsync(new StartRequest { ContainerId = id }, client.Options());
            return pid;
        }
    }

    private static string LogPath(string dir, string id, string stream) => Path.Combine(dir, $"{id}.{stream}");
}
