using Containerd.Api.Execution;
using Containerd.Tests.Support;
using EventType = Containerd.Api.Types.Event.Types.EventType;

namespace Containerd.Tests.Integration;

[TestFixture]
public sealed class EventsTests : DaemonFixture
{
    [Test]
    public async Task EventsArriveInOrderAndStayInTheirNamespace()
    {
        using var other = Daemon.Connect(Client.Namespace + "-o");
        await using var mine = Client.SubscribeEvents();
        await using var theirs = other.SubscribeEvents();
        await Task.WhenAll(mine.Subscribed, theirs.Subscribed);

        var pid = await Client.RunAsync("ordered", "sh", "-c", "exit 1");
        await mine.WaitForExitAsync("ordered", pid);
        var otherPid = await other.RunAsync("ordered", "sh", "-c", "exit 2");
        var otherExit = await theirs.WaitForExitAsync("ordered", otherPid);

        var types = mine.Events.Where(e => e.Id == "ordered").Select(e => e.Type).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(types, Is.EqualTo(new[] { EventType.Create, EventType.Start, EventType.Exit }));
            Assert.That(mine.Events.Any(e => e.Pid == otherPid), Is.False, "another namespace's events are not mine");
            Assert.That(theirs.Events.Any(e => e.Pid == pid), Is.False);
            Assert.That(otherExit.ExitStatus, Is.EqualTo(2u));
        });

        await Client.RemoveAsync("ordered");
        await other.RemoveAsync("ordered");
        Leaks.AssertNone(Daemon, other.Namespace);
    }

    [Test]
    public async Task EverySubscriberGetsEveryEvent()
    {
        var subscribers = Enumerable.Range(0, 5).Select(_ => Client.SubscribeEvents()).ToList();
        try
        {
            await Task.WhenAll(subscribers.Select(s => s.Subscribed));
            var pid = await Client.RunAsync("fanout", "true");
            foreach (var subscriber in subscribers)
                await subscriber.WaitForExitAsync("fanout", pid);
            Assert.That(subscribers.Select(s => s.Events.Count).Distinct().Count(), Is.EqualTo(1));
        }
        finally
        {
            foreach (var subscriber in subscribers)
                await subscriber.DisposeAsync();
        }
        await Client.RemoveAsync("fanout");
    }
}
