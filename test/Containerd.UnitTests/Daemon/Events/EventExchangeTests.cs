using Event = Containerd.Api.Types.Event;
using Containerd.Daemon.Events;
using Grpc.Core;
using EventType = Containerd.Api.Types.Event.Types.EventType;

namespace Containerd.UnitTests.Daemon.Events;

public sealed class EventExchangeTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private static Event Started(string id) => new() { Id = id, Type = EventType.Start, Pid = 1 };

    private static IEnumerable<Event> Started(string prefix, int count) =>
        Enumerable.Range(1, count).Select(i => Started(prefix + i));

    private static void Publish(EventExchange exchange, string @namespace, IEnumerable<Event> events)
    {
        foreach (var evt in events)
            exchange.Publish(@namespace, evt);
    }

    private static string[] Ids(IEnumerable<Event> events) => events.Select(e => e.Id).ToArray();

    private static string[] Ids(string prefix, int count) => Ids(Started(prefix, count));

    [Test]
    public void The_constructor_rejects_a_buffer_below_one_and_a_negative_backlog()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new EventExchange(capacity: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new EventExchange(backlogCapacity: -1));
        Assert.DoesNotThrow(() => new EventExchange(capacity: 1, backlogCapacity: 0));
    }

    [Test]
    public async Task A_subscriber_gets_its_namespaces_events_in_publish_order()
    {
        var exchange = new EventExchange();
        using var subscription = exchange.Subscribe("default");

        Publish(exchange, "default", Started("a", 5));

        Assert.That(Ids(await Take(subscription, 5)), Is.EqualTo(Ids("a", 5)));
        Assert.That(subscription.Namespace, Is.EqualTo("default"));
    }

    [Test]
    public async Task A_subscriber_never_sees_another_namespaces_events()
    {
        var exchange = new EventExchange();
        using var ours = exchange.Subscribe("ours");
        using var theirs = exchange.Subscribe("theirs");

        exchange.Publish("theirs", Started("t1"));
        exchange.Publish("ours", Started("o1"));
        exchange.Publish("theirs", Started("t2"));
        exchange.Publish("ours", Started("o2"));

        Assert.That(Ids(await Take(ours, 2)), Is.EqualTo(new[] { "o1", "o2" }));
        Assert.That(Ids(await Take(theirs, 2)), Is.EqualTo(new[] { "t1", "t2" }));
        Assert.That(await NothingMoreAsync(ours), Is.True);
    }

    [Test]
    public async Task Namespaces_are_compared_exactly()
    {
        var exchange = new EventExchange();
        using var lower = exchange.Subscribe("default");

        exchange.Publish("Default", Started("x"));

        Assert.That(await NothingMoreAsync(lower), Is.True);
    }

    [Test]
    public async Task Every_subscriber_of_a_namespace_gets_every_event_in_the_same_order_even_with_concurrent_publishers()
    {
        const int PerPublisher = 500;
        var exchange = new EventExchange();
        using var first = exchange.Subscribe("default");
        using var second = exchange.Subscribe("default");

        await Task.WhenAll(Enumerable.Range(0, 4).Select(p =>
            Task.Run(() => Publish(exchange, "default", Started($"p{p}-", PerPublisher))))).WaitAsync(Timeout);

        var seenByFirst = Ids(await Take(first, 4 * PerPublisher));
        var seenBySecond = Ids(await Take(second, 4 * PerPublisher));
        Assert.That(seenBySecond, Is.EqualTo(seenByFirst));
        for (var p = 0; p < 4; p++)
            Assert.That(seenByFirst.Where(id => id.StartsWith($"p{p}-", StringComparison.Ordinal)), Is.EqualTo(Ids($"p{p}-", PerPublisher)),
                "each publisher's events keep their order");
    }

    [Test]
    public async Task Events_published_before_a_namespace_has_a_subscriber_are_kept_for_its_first_subscriber()
    {
        // A restarted daemon replays the exits its shims queued before any client is back.
        var exchange = new EventExchange();
        Publish(exchange, "default", Started("early", 3));

        using var subscription = exchange.Subscribe("default");
        exchange.Publish("default", Started("live"));

        Assert.That(Ids(await Take(subscription, 4)), Is.EqualTo(Ids("early", 3).Append("live")), "backlog first, then live, in order");
    }

    [Test]
    public async Task The_backlog_is_handed_out_once_and_later_subscribers_get_only_live_events()
    {
        var exchange = new EventExchange();
        Publish(exchange, "default", Started("early", 2));
        using var first = exchange.Subscribe("default");
        await Take(first, 2);

        using var second = exchange.Subscribe("default");
        exchange.Publish("default", Started("live"));

        Assert.That(Ids(await Take(second, 1)), Is.EqualTo(new[] { "live" }));
    }

    [Test]
    public async Task Once_a_namespace_has_had_a_subscriber_events_published_while_it_has_none_are_not_kept()
    {
        var exchange = new EventExchange();
        exchange.Subscribe("default").Dispose();

        exchange.Publish("default", Started("unseen"));
        using var later = exchange.Subscribe("default");
        exchange.Publish("default", Started("live"));

        Assert.That(Ids(await Take(later, 1)), Is.EqualTo(new[] { "live" }));
        Assert.That(await NothingMoreAsync(later), Is.True);
    }

    [Test]
    public async Task The_backlog_is_kept_per_namespace()
    {
        var exchange = new EventExchange();
        exchange.Publish("a", Started("a1"));
        exchange.Publish("b", Started("b1"));
        exchange.Publish("a", Started("a2"));
        exchange.Publish("b", Started("b2"));

        using var a = exchange.Subscribe("a");
        Assert.That(Ids(await Take(a, 2)), Is.EqualTo(new[] { "a1", "a2" }));
        Assert.That(await NothingMoreAsync(a), Is.True, "another namespace's backlog is not handed over");

        exchange.Publish("b", Started("b3"));
        using var b = exchange.Subscribe("b");
        Assert.That(Ids(await Take(b, 3)), Is.EqualTo(new[] { "b1", "b2", "b3" }), "taking a's backlog left b's intact and in order");
    }

    [Test]
    public async Task A_full_backlog_drops_its_oldest_events_across_namespaces()
    {
        var exchange = new EventExchange(backlogCapacity: 3);
        exchange.Publish("a", Started("a1"));
        exchange.Publish("b", Started("b1"));
        exchange.Publish("a", Started("a2"));
        exchange.Publish("a", Started("a3"));
        exchange.Publish("b", Started("b2"));

        using var a = exchange.Subscribe("a");
        using var b = exchange.Subscribe("b");

        Assert.That(Ids(await Take(a, 2)), Is.EqualTo(new[] { "a2", "a3" }));
        Assert.That(Ids(await Take(b, 1)), Is.EqualTo(new[] { "b2" }));
        Assert.That(await NothingMoreAsync(a), Is.True);
        Assert.That(await NothingMoreAsync(b), Is.True);
    }

    [Test]
    public async Task The_default_backlog_keeps_its_full_capacity()
    {
        var exchange = new EventExchange();
        Publish(exchange, "default", Started("e", EventExchange.DefaultBacklogCapacity + 1));

        using var subscription = exchange.Subscribe("default");

        var kept = await Take(subscription, EventExchange.DefaultBacklogCapacity);
        Assert.That(kept[0].Id, Is.EqualTo("e2"), "only the oldest was dropped");
        Assert.That(kept[^1].Id, Is.EqualTo("e" + (EventExchange.DefaultBacklogCapacity + 1)));
        Assert.That(await NothingMoreAsync(subscription), Is.True);
    }

    [Test]
    public async Task A_backlog_capacity_of_zero_keeps_nothing()
    {
        var exchange = new EventExchange(backlogCapacity: 0);
        exchange.Publish("default", Started("early"));

        using var subscription = exchange.Subscribe("default");

        Assert.That(await NothingMoreAsync(subscription), Is.True);
    }

    [Test]
    public async Task A_backlog_larger_than_the_buffer_is_handed_over_without_cutting_the_subscriber_off()
    {
        var exchange = new EventExchange(capacity: 2);
        Publish(exchange, "default", Started("early", 10));

        using var subscription = exchange.Subscribe("default");
        Publish(exchange, "default", Started("live", 2));

        Assert.That(Ids(await Take(subscription, 12)), Is.EqualTo(Ids("early", 10).Concat(Ids("live", 2))),
            "the buffer has room for the whole backlog on top of its usual size");
    }

    [Test]
    public async Task A_subscriber_too_slow_for_its_buffer_gets_what_was_buffered_then_a_resource_exhausted_error()
    {
        var exchange = new EventExchange(capacity: 2);
        using var slow = exchange.Subscribe("default");

        // Publish returns at once although nobody reads: a shim's pump is never held up.
        Publish(exchange, "default", Started("e", 3));

        var (received, error) = await Drain(slow);
        Assert.That(Ids(received), Is.EqualTo(Ids("e", 2)), "nothing buffered is skipped");
        Assert.That(error, Is.InstanceOf<RpcException>());
        var rpc = (RpcException)error!;
        Assert.That(rpc.StatusCode, Is.EqualTo(StatusCode.ResourceExhausted));
        Assert.That(rpc.Status.Detail, Is.EqualTo(EventSubscription.TooSlowMessage));
    }

    [Test]
    public async Task Cutting_off_a_slow_subscriber_leaves_the_others_of_its_namespace_served()
    {
        var exchange = new EventExchange(capacity: 2);
        using var slow = exchange.Subscribe("default");
        using var fast = exchange.Subscribe("default");

        exchange.Publish("default", Started("e1"));
        exchange.Publish("default", Started("e2"));
        Assert.That(Ids(await Take(fast, 2)), Is.EqualTo(Ids("e", 2)));
        exchange.Publish("default", Started("e3"));
        exchange.Publish("default", Started("e4"));

        Assert.That(Ids(await Take(fast, 2)), Is.EqualTo(new[] { "e3", "e4" }));
        var (received, error) = await Drain(slow);
        Assert.That(Ids(received), Is.EqualTo(Ids("e", 2)));
        Assert.That(error, Is.InstanceOf<RpcException>());
    }

    [Test]
    public async Task A_cut_off_subscriber_gets_nothing_published_after_the_cut_off()
    {
        var exchange = new EventExchange(capacity: 1);
        using var slow = exchange.Subscribe("default");
        Publish(exchange, "default", Started("e", 2));

        Publish(exchange, "default", Started("later", 3));

        var (received, error) = await Drain(slow);
        Assert.That(Ids(received), Is.EqualTo(new[] { "e1" }));
        Assert.That(error, Is.InstanceOf<RpcException>());
    }

    [Test]
    public async Task Disposing_a_subscription_ends_its_stream_cleanly()
    {
        var exchange = new EventExchange();
        var subscription = exchange.Subscribe("default");
        exchange.Publish("default", Started("e1"));

        subscription.Dispose();
        exchange.Publish("default", Started("e2"));

        var (received, error) = await Drain(subscription);
        Assert.That(Ids(received), Is.EqualTo(new[] { "e1" }), "what was buffered is still readable, nothing after");
        Assert.That(error, Is.Null);
    }

    [Test]
    public async Task Closing_all_ends_every_stream_with_unavailable()
    {
        var exchange = new EventExchange();
        using var a = exchange.Subscribe("a");
        using var b = exchange.Subscribe("b");
        exchange.Publish("a", Started("a1"));

        exchange.CloseAll();

        var (received, error) = await Drain(a);
        Assert.That(Ids(received), Is.EqualTo(new[] { "a1" }));
        AssertShuttingDown(error);
        AssertShuttingDown((await Drain(b)).Error);
    }

    [Test]
    public async Task A_subscription_after_close_ends_at_once_and_takes_no_backlog()
    {
        var exchange = new EventExchange();
        exchange.Publish("default", Started("early"));
        exchange.CloseAll();

        using var subscription = exchange.Subscribe("default");

        var (received, error) = await Drain(subscription);
        Assert.That(received, Is.Empty);
        AssertShuttingDown(error);
    }

    [Test]
    public async Task Reading_stops_when_the_reader_cancels()
    {
        var exchange = new EventExchange();
        using var subscription = exchange.Subscribe("default");
        using var cancel = new CancellationTokenSource();
        await using var reader = subscription.ReadAllAsync(cancel.Token).GetAsyncEnumerator();

        var waiting = reader.MoveNextAsync().AsTask();
        Assert.That(waiting.IsCompleted, Is.False);
        await cancel.CancelAsync();

        Assert.That(async () => await waiting.WaitAsync(Timeout), Throws.InstanceOf<OperationCanceledException>());
    }

    private static void AssertShuttingDown(Exception? error)
    {
        Assert.That(error, Is.InstanceOf<RpcException>());
        var rpc = (RpcException)error!;
        Assert.That(rpc.StatusCode, Is.EqualTo(StatusCode.Unavailable));
        Assert.That(rpc.Status.Detail, Is.EqualTo(EventSubscription.ShuttingDownMessage));
    }

    private static async Task<List<Event>> Take(EventSubscription subscription, int count)
    {
        var taken = new List<Event>(count);
        using var cancel = new CancellationTokenSource(Timeout);
        await foreach (var evt in subscription.ReadAllAsync(cancel.Token))
        {
            taken.Add(evt);
            if (taken.Count == count)
                break;
        }
        return taken;
    }

    /// <summary>Reads a stream that has been ended to its end: the events, then the error it ended with, if any.</summary>
    private static async Task<(List<Event> Events, Exception? Error)> Drain(EventSubscription subscription)
    {
        var events = new List<Event>();
        using var cancel = new CancellationTokenSource(Timeout);
        try
        {
            await foreach (var evt in subscription.ReadAllAsync(cancel.Token))
                events.Add(evt);
            return (events, null);
        }
        catch (RpcException e)
        {
            return (events, e);
        }
    }

    /// <summary>
    /// Whether nothing is buffered. Every publish in these tests is synchronous,
    /// so what was delivered is already in the buffer: no waiting needed.
    /// </summary>
    private static async Task<bool> NothingMoreAsync(EventSubscription subscription)
    {
        using var cancel = new CancellationTokenSource();
        await using var reader = subscription.ReadAllAsync(cancel.Token).GetAsyncEnumerator();
        var next = reader.MoveNextAsync().AsTask();
        if (next.IsCompleted)
            return false;
        await cancel.CancelAsync();
        try
        {
            await next.WaitAsync(Timeout);
        }
        catch (OperationCanceledException)
        {
        }
        return true;
    }
}
