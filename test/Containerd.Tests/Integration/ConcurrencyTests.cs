using Containerd.Api.Execution;
using Containerd.Tests.Support;

namespace Containerd.Tests.Integration;

[TestFixture]
public sealed class ConcurrencyTests : DaemonFixture
{
    [Test]
    public async Task FiftyContainersCreatedStartedKilledAndDeletedConcurrently()
    {
        await using var events = Client.SubscribeEvents();
        await events.Subscribed;
        var ids = Enumerable.Range(0, 50).Select(i => $"c{i}").ToList();

        var results = await Task.WhenAll(ids.Select(async id =>
        {
            var pid = await Client.RunAsync(id, "sleep", "300");
            var info = await Client.Tasks.InfoAsync(new InfoRequest { ContainerId = id }, Client.Options());
            Assert.That(info.Task.Status, Is.EqualTo(Api.Types.Status.Running), id);
            await Client.Tasks.KillAsync(new KillRequest { ContainerId = id, Signal = 9 }, Client.Options());
            var exit = await events.WaitForExitAsync(id, pid);
            var deleted = await Client.Tasks.DeleteAsync(new DeleteRequest { ContainerId = id }, Client.Options());
            await Client.Containers.DeleteAsync(new Api.Containers.DeleteContainerRequest { Id = id }, Client.Options());
            return (id, exit.ExitStatus, deleted.ExitStatus);
        }));

        Assert.That(results.Select(r => r.Item2).Distinct(), Is.EqualTo(new[] { 137u }));
        Assert.That(results.Select(r => r.Item3).Distinct(), Is.EqualTo(new[] { 137u }));
        Assert.That((await Client.Tasks.ListAsync(new ListRequest(), Client.Options())).Tasks, Is.Empty);
    }
}
