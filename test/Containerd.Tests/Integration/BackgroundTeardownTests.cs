using Containerd.Api.Containers;
using Containerd.Api.Execution;
using Containerd.Tests.Support;
using Grpc.Core;
using Status = Containerd.Api.Types.Status;
using Task = System.Threading.Tasks.Task;

namespace Containerd.Tests.Integration;

/// <summary>
/// Tasks.Delete answers once the shim reported the exit status; the shim's shutdown and exit
/// and the bundle's removal finish in the background. Nothing may be left once they do, a
/// Create of the same id right after must work, a daemon stopped meanwhile finishes them,
/// and one killed meanwhile leaves what its next start-up removes.
/// </summary>
[TestFixture]
public sealed class BackgroundTeardownTests : DaemonFixture
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Test]
    public async Task NothingIsLeftOnceTheBackgroundTeardownCompletes()
    {
        var o = Client.Options();
        await using var events = await Client.SubscribeEventsAsync();
        var pid = await Client.RunAsync("gone", "sleep", "300");
        var shimPid = Leaks.ShimPids(Daemon.Dir, Client.Namespace).Single().Pid;
        var bundle = Path.Combine(Daemon.StateDir, "tasks", Client.Namespace, "gone");
        await Client.Tasks.KillAsync(new KillRequest { ContainerId = "gone", Signal = 9 }, o);
        var exit = await events.WaitForExitAsync("gone", pid);
        var deleted = await Client.Tasks.DeleteAsync(new DeleteRequest { ContainerId = "gone" }, o);
        KilledTask.AssertDeleted("gone", deleted, pid, exit);

        // The real signals: the shim's exit (its pidfd), then the bundle directory's removal.
        Assert.That(await ProcessExit.WaitGoneAsync(shimPid, Bound), "the shim exits after Delete");
        Assert.That(await WaitForDirectoryGoneAsync(bundle, Bound), "the bundle is removed after the shim exits");
        await Client.Containers.DeleteAsync(new DeleteContainerRequest { Id = "gone" }, o);
        Assert.That(Leaks.Find(Daemon, Client.Namespace), Is.Empty, "nothing else is left once the teardown is done");
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task ACreateOfTheSameIdRightAfterDeleteWorks(bool exitsByItself)
    {
        string[] args = exitsByItself ? ["true"] : ["sleep", "300"];
        var o = Client.Options();
        await Client.CreateContainerAsync("again", args);
        await using var events = await Client.SubscribeEventsAsync();
        for (var round = 0; round < 3; round++)
        {
            var pid = (await Client.Tasks.CreateAsync(DaemonClient.CreateTaskRequest("again"), o)).Pid;
            await Client.Tasks.StartAsync(new StartRequest { ContainerId = "again" }, o);
            if (!exitsByItself)
                await Client.Tasks.KillAsync(new KillRequest { ContainerId = "again", Signal = 9 }, o);
            var exit = await events.WaitForExitAsync("again", pid);
            var deleted = await Client.Tasks.DeleteAsync(new DeleteRequest { ContainerId = "again" }, o);
            Assert.That(deleted.ExitStatus, Is.EqualTo(exit.ExitStatus), $"round {round}");

            // At once, while the previous shim may still be shutting down.
            var created = await Client.Tasks.CreateAsync(DaemonClient.CreateTaskRequest("again"), o);
            var info = (await Client.Tasks.InfoAsync(new InfoRequest { ContainerId = "again" }, o)).Task;
            Assert.That(info.Status, Is.EqualTo(Status.Created), $"round {round}");
            Assert.That(info.Pid, Is.EqualTo(created.Pid));
            Assert.That(Leaks.ShimPids(Daemon.Dir, Client.Namespace).Count(), Is.EqualTo(1), $"round {round}: one shim, the new task's");
            await Client.Tasks.DeleteAsync(new DeleteRequest { ContainerId = "again" }, o);
        }
        await Client.Containers.DeleteAsync(new DeleteContainerRequest { Id = "again" }, o);
    }

    [Test]
    public async Task ADaemonStoppedRightAfterDeleteFinishesTheTeardownFirst()
    {
        var o = Client.Options();
        await using (var events = await Client.SubscribeEventsAsync())
        {
            var pid = await Client.RunAsync("stopping", "true");
            await events.WaitForExitAsync("stopping", pid);
        }
        await Client.Tasks.DeleteAsync(new DeleteRequest { ContainerId = "stopping" }, o);
        await Daemon.StopAsync();
        Assert.That(Daemon.ExitCode, Is.Zero);
        Assert.That(Leaks.Find(Daemon, Client.Namespace), Is.Empty, "SIGTERM waits for the teardown");

        await Daemon.RestartAsync();
        using var client = Daemon.Connect(Client.Namespace);
        await client.Containers.DeleteAsync(new DeleteContainerRequest { Id = "stopping" }, client.Options());
    }

    [Test]
    public async Task ADaemonKilledDuringTheTeardownLeavesWhatItsNextStartRemoves()
    {
        var ns = Client.Namespace;
        await Daemon.StopAsync();
        await Daemon.RestartAsync(new DaemonStartOptions(Environment: new Dictionary<string, string>
        {
            ["CONTAINERD_TEST_CRASH_AT"] = "teardown-shim-exited",
        }));
        var bundle = Path.Combine(Daemon.StateDir, "tasks", ns, "killed");
        using (var doomed = Daemon.Connect(ns))
        {
            var o = doomed.Options();
            await using var events = await doomed.SubscribeEventsAsync();
            var pid = await doomed.RunAsync("killed", "sleep", "300");
            await doomed.Tasks.KillAsync(new KillRequest { ContainerId = "killed", Signal = 9 }, o);
            await events.WaitForExitAsync("killed", pid);
            try
            {
                await doomed.Tasks.DeleteAsync(new DeleteRequest { ContainerId = "killed" }, o);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable)
            {
                // The answer raced the daemon's death; the shim had deleted the task either way.
            }
        }
        Assert.That(await Daemon.WaitForExitAsync(Bound), Is.True, "the daemon kills itself in the teardown");
        Assert.That(Daemon.ExitCode, Is.EqualTo(128 + 9));
        Assert.That(Directory.Exists(bundle), "the bundle outlived the killed daemon");

        await Daemon.RestartAsync();
        Assert.That(Directory.Exists(bundle), Is.False, "start-up recovery removed the bundle before serving");
        using var client = Daemon.Connect(ns);
        var missing = Assert.ThrowsAsync<RpcException>(() =>
            client.Tasks.InfoAsync(new InfoRequest { ContainerId = "killed" }, client.Options()).ResponseAsync);
        Assert.That(missing!.StatusCode, Is.EqualTo(StatusCode.NotFound));
        Assert.That(Leaks.Find(Daemon, ns), Is.Empty);

        await using (var events = await client.SubscribeEventsAsync())
            await ShimCrashTests.CreateStartKillDeleteAsync(client, "killed", events);
        await client.Containers.DeleteAsync(new DeleteContainerRequest { Id = "killed" }, client.Options());
    }

    private static async Task<bool> WaitForDirectoryGoneAsync(string path, TimeSpan timeout)
    {
        // Nothing signals a directory's removal to an outsider: look again shortly, within the bound.
        var deadline = DateTime.UtcNow + timeout;
        while (Directory.Exists(path))
        {
            if (DateTime.UtcNow > deadline)
                return false;
            await Task.Delay(10);
        }
        return true;
    }
}
