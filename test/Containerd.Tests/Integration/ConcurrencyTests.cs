using Containerd.Api.Execution;
using Containerd.Tests.Support;

namespace Containerd.Tests.Integration;

[TestFixture]
public sealed class ConcurrencyTests : DaemonFixture
{
    [Test]
    public async Task FiftyContainersCreatedStartedKilledAndDeletedConcurrently()
    {
        await using var events = await Client.SubscribeEventsAsync();
        var ids = Enumerable.Range(0, 50).Select(i => $"c{i}").ToList();

        var results = await Task.WhenAll(ids.Select(async id =>
        {
            var pid = await Client.RunAsync(id, "sleep", "300");
            var info = await Client.Tasks.InfoAsync(new InfoRequest { ContainerId = id }, Client.Options());
            await Client.Tasks.KillAsync(new KillRequest { ContainerId = id, Signal = 9 }, Client.Options());
            var exit = await events.WaitForExitAsync(id, pid);
            var deleted = await Client.Tasks.DeleteAsync(new DeleteRequest { ContainerId = id }, Client.Options());
            await Client.Containers.DeleteAsync(new Api.Containers.DeleteContainerRequest { Id = id }, Client.Options());
            return (Id: id, Pid: pid, Status: info.Task.Status, Exit: exit, Deleted: deleted);
        }));

        // Asserted here, not inside the concurrent tasks: NUnit's assertion context is the test's, not one per task.
        Assert.That(results.Where(r => r.Status != Api.Types.Status.Running).Select(r => $"{r.Id}: {r.Status}"), Is.Empty, "every task ran");
        foreach (var r in results)
        {
            Assert.That(events.Sequence(r.Id), Is.EqualTo(EventRecorder.CreateStartExit(r.Id, r.Pid)), r.Id);
            KilledTask.AssertDeleted(r.Id, r.Deleted, r.Pid, r.Exit);
        }
        Assert.That((await Client.Tasks.ListAsync(new ListRequest(), Client.Options())).Tasks, Is.Empty);
    }
}
