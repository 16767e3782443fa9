using Containerd.Daemon.Events;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Logging.Abstractions;
using Event = Containerd.Api.Types.Event;
using EventType = Containerd.Api.Types.Event.Types.EventType;

namespace Containerd.UnitTests.Daemon.Events;

/// <summary>The backlog on disk: kept across exchanges (daemon restarts) until delivered, bounded, torn tails dropped.</summary>
public sealed class EventBacklogStoreTests
{
    private DirectoryInfo _dir = null!;

    [SetUp]
    public void CreateDirectory() => _dir = Directory.CreateTempSubdirectory("backlog-");

    [TearDown]
    public void RemoveDirectory() => _dir.Delete(recursive: true);

    private EventBacklogStore Store() => new(Path.Combine(_dir.FullName, "events"), NullLogger.Instance);

    private static Event Exit(string id, uint pid) => new()
    {
        Id = id, Type = EventType.Exit, Pid = pid, ExitStatus = 137, ExitedAt = new Timestamp { Seconds = 1_780_000_000, Nanos = 5 },
    };

    [Test]
    public void Records_round_trip_and_a_torn_tail_is_dropped()
    {
        var whole = EventBacklogStore.Serialize([Exit("a", 1), Exit("b", 2)]);
        Assert.That(EventBacklogStore.Parse(whole), Is.EqualTo(new[] { Exit("a", 1), Exit("b", 2) }));
        Assert.That(EventBacklogStore.Parse(whole[..^3]), Is.EqualTo(new[] { Exit("a", 1) }));
        Assert.That(EventBacklogStore.Parse([]), Is.Empty);
    }

    [Test]
    public async Task Kept_events_survive_restarts_until_the_first_subscriber_takes_them_once()
    {
        var first = new EventExchange(store: Store());
        first.Publish("ns", Exit("a", 1));
        first.Publish("other", Exit("o", 9));

        // Restarted twice, nobody subscribed in between.
        _ = new EventExchange(store: Store());
        var third = new EventExchange(store: Store());
        using (var subscription = third.Subscribe("ns"))
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await foreach (var evt in subscription.ReadAllAsync(timeout.Token))
            {
                Assert.That(evt, Is.EqualTo(Exit("a", 1)));
                break;
            }
        }
        Assert.That(File.Exists(Store().FileOf("ns")), Is.False, "delivered: no longer on disk");
        Assert.That(File.Exists(Store().FileOf("other")), "another namespace's events stay");

        using var later = new EventExchange(store: Store()).Subscribe("ns");
        Assert.That(later.ReadAllAsync(CancellationToken.None).GetAsyncEnumerator().MoveNextAsync().AsTask().Wait(200), Is.False,
            "the next daemon's first subscriber does not get them again");
    }

    [Test]
    public void The_disk_is_bounded_as_the_backlog_is()
    {
        var exchange = new EventExchange(backlogCapacity: 10, store: Store());
        for (uint i = 1; i <= 1000; i++)
            exchange.Publish("busy", Exit("x", i));
        var onDisk = EventBacklogStore.Parse(File.ReadAllBytes(Store().FileOf("busy")));
        Assert.That(onDisk.Count, Is.LessThanOrEqualTo(10 + 64));
        Assert.That(onDisk[^1].Pid, Is.EqualTo(1000u));

        var restarted = new EventExchange(backlogCapacity: 10, store: Store());
        using var subscription = restarted.Subscribe("busy");
        var pids = new List<uint>();
        var reader = subscription.ReadAllAsync(CancellationToken.None).GetAsyncEnumerator();
        while (reader.MoveNextAsync().AsTask().Wait(200))
            pids.Add(reader.Current.Pid);
        Assert.That(pids, Is.EqualTo(Enumerable.Range(991, 10).Select(i => (uint)i)), "the newest, as many as the backlog holds");
    }
}
