using Containerd.Tests.Support;

namespace Containerd.Tests.Integration;

[TestFixture]
public sealed class EventsTests : DaemonFixture
{
    [Test]
    public async Task EventsArriveInOrderAndStayInTheirNamespace()
    {
        using var other = Daemon.Connect(Client.Namespace + "-o");
        await using var mine = await Client.SubscribeEventsAsync();
        await using var theirs = await other.SubscribeEventsAsync();

        var pid = await Client.RunAsync("ordered", "sh", "-c", "exit 1");
        var exit = await mine.WaitForExitAsync("ordered", pid);
        var otherPid = await other.RunAsync("ordered", "sh", "-c", "exit 2");
        var otherExit = await theirs.WaitForExitAsync("ordered", otherPid);

        // Each subscriber saw exactly its own namespace's events, in the order they happened.
        Assert.Multiple(() =>
        {
            Assert.That(mine.Sequence(), Is.EqualTo(EventRecorder.CreateStartExit("ordered", pid)));
            Assert.That(theirs.Sequence(), Is.EqualTo(EventRecorder.CreateStartExit("ordered", otherPid)));
            Assert.That((exit.ExitStatus, otherExit.ExitStatus), Is.EqualTo((1u, 2u)));
        });

        await Client.RemoveAsync("ordered");
        await other.RemoveAsync("ordered");
        await Leaks.AssertNoneAsync(Daemon, other.Namespace);
    }

    [Test]
    public async Task EverySubscriberGetsEveryEvent()
    {
        var subscribers = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => Client.SubscribeEventsAsync()));
        try
        {
            var pid = await Client.RunAsync("fanout", "true");
            foreach (var subscriber in subscribers)
                await subscriber.WaitForExitAsync("fanout", pid);
            var expected = EventRecorder.CreateStartExit("fanout", pid);
            Assert.That(subscribers.Select(s => s.Sequence()), Is.All.EqualTo(expected));
        }
        finally
        {
            foreach (var subscriber in subscribers)
                await subscriber.DisposeAsync();
        }
        await Client.RemoveAsync("fanout");
    }
}
