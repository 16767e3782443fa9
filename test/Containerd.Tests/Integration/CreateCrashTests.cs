using Containerd.Api.Containers;
using Containerd.Api.Execution;
using Containerd.Api.Types;
using Containerd.Tests.Support;
using Grpc.Core;
using Status = Containerd.Api.Types.Status;
using Task = System.Threading.Tasks.Task;

namespace Containerd.Tests.Integration;

/// <summary>
/// The daemon killed (SIGKILL, by CONTAINERD_TEST_CRASH_AT) at each step of Tasks.Create:
/// after a restart the task is either fully usable or gone without a trace, and its id can
/// be used again.
/// </summary>
[TestFixture]
public sealed class CreateCrashTests : DaemonFixture
{
    private const string CrashVariable = "CONTAINERD_TEST_CRASH_AT";

    // Before runc has made anything, nothing is kept; once runc create runs, the shim
    // finishes it without the daemon and the restarted daemon takes the task back.
    [TestCase("bundle-written", false)]
    [TestCase("shim-started", false)]
    [TestCase("runtime-creating", true)]
    [TestCase("shim-created", true)]
    public async Task ACreateCutShortIsAValidTaskOrNothingAfterRestart(string step, bool kept)
    {
        var ns = Client.Namespace;
        await Client.CreateContainerAsync("crash", "sleep", "300");
        await Daemon.StopAsync();
        await Daemon.RestartAsync(new DaemonStartOptions(Environment: new Dictionary<string, string> { [CrashVariable] = step }));
        using (var doomed = Daemon.Connect(ns))
        {
            var failed = Assert.ThrowsAsync<RpcException>(() => doomed.Tasks.CreateAsync(DaemonClient.CreateTaskRequest("crash"), doomed.Options()).ResponseAsync);
            // The daemon dies mid-call: the client sees the connection drop, not an answer.
            Assert.That(failed!.StatusCode, Is.EqualTo(StatusCode.Unavailable), $"{step}: {failed.Status}");
        }
        Assert.That(await Daemon.WaitForExitAsync(TimeSpan.FromSeconds(30)), Is.True, "the daemon kills itself at the crash point");
        Assert.That(Daemon.ExitCode, Is.EqualTo(128 + 9));

        await Daemon.RestartAsync();
        using var client = Daemon.Connect(ns);
        var o = client.Options();
        await using var events = await client.SubscribeEventsAsync();
        if (kept)
        {
            var info = (await client.Tasks.InfoAsync(new InfoRequest { ContainerId = "crash" }, o)).Task;
            Assert.That(info.Status, Is.EqualTo(Status.Created));
            Assert.That(Probe.IsAlive(info.Pid), "the created init is there");
            await client.Tasks.StartAsync(new StartRequest { ContainerId = "crash" }, o);
            Assert.That((await client.Tasks.InfoAsync(new InfoRequest { ContainerId = "crash" }, o)).Task.Status, Is.EqualTo(Status.Running));
            await client.Tasks.KillAsync(new KillRequest { ContainerId = "crash", Signal = 9 }, o);
            var exit = await events.WaitForExitAsync("crash", info.Pid);
            var deleted = await client.Tasks.DeleteAsync(new DeleteRequest { ContainerId = "crash" }, o);
            KilledTask.AssertDeleted("crash", deleted, info.Pid, exit);
        }
        else
        {
            var missing = Assert.ThrowsAsync<RpcException>(() => client.Tasks.InfoAsync(new InfoRequest { ContainerId = "crash" }, o).ResponseAsync);
            Assert.That(missing!.StatusCode, Is.EqualTo(StatusCode.NotFound));
        }
        await Leaks.AssertNoneAsync(Daemon, ns);

        await ShimCrashTests.CreateStartKillDeleteAsync(client, "crash", events);
        await client.Containers.DeleteAsync(new DeleteContainerRequest { Id = "crash" }, o);
    }
}
