using System.Threading.Channels;
using Containerd.Api.Shim;
using Containerd.Shim.Events;
using Event = Containerd.Api.Types.Event;
using EventType = Containerd.Api.Types.Event.Types.EventType;

namespace Containerd.UnitTests.Shim.Events;

public sealed class EventQueueTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private static ulong[] Sequences(IEnumerable<ShimEvent> events) => events.Select(e => e.Sequence).ToArray();

    private static ulong[] Range(ulong first, ulong last)
    {
        var result = new ulong[last - first + 1];
        for (var i = 0; i < result.Length; i++)
            result[i] = first + (ulong)i;
        return result;
    }

    private static void PublishStarts(EventQueue queue, int count)
    {
        for (var i = 1; i <= count; i++)
            queue.Publish("c" + i, EventType.Start, (uint)i);
    }

    [Test]
    public void Events_are_numbered_from_one_without_gaps()
    {
        var queue = new EventQueue();

        var first = queue.Publish("c", EventType.Create, 10);
        var second = queue.Publish("c", EventType.Start, 10);
        var third = queue.Publish(new Event { Id = "c", Type = EventType.ExecAdded, Pid = 11 });

        Assert.That(new[] { first.Sequence, second.Sequence, third.Sequence }, Is.EqualTo(Range(1, 3)));
        Assert.That(queue.Count, Is.EqualTo(3));
    }

    [Test]
    public void A_published_event_carries_id_type_and_pid()
    {
        var queue = new EventQueue();

        var published = queue.Publish("web", EventType.Paused, 42);

        Assert.That(published.Event.Id, Is.EqualTo("web"));
        Assert.That(published.Event.Type, Is.EqualTo(EventType.Paused));
        Assert.That(published.Event.Pid, Is.EqualTo(42u));
        Assert.That(published.Event.ExitedAt, Is.Null, "only exits have an exit time");
    }

    [Test]
    public void An_exit_event_carries_its_status_and_utc_exit_time()
    {
        var queue = new EventQueue();
        var exitedAt = new DateTime(2026, 11, 30, 5, 6, 7, DateTimeKind.Utc).AddTicks(1234560);

        var published = queue.PublishExit("web", 42, 137, exitedAt);

        Assert.That(published.Event.Type, Is.EqualTo(EventType.Exit));
        Assert.That(published.Event.Pid, Is.EqualTo(42u));
        Assert.That(published.Event.ExitStatus, Is.EqualTo(137u));
        var roundTripped = published.Event.ExitedAt.ToDateTime();
        Assert.That(roundTripped, Is.EqualTo(exitedAt));
        Assert.That(roundTripped.Kind, Is.EqualTo(DateTimeKind.Utc));
    }

    [Test]
    public void An_exit_time_of_unspecified_kind_is_taken_as_utc_rather_than_rejected()
    {
        // Timestamp.FromDateTime throws for non-UTC kinds; an exit must still be published.
        var queue = new EventQueue();
        var exitedAt = new DateTime(2026, 11, 30, 5, 6, 7, DateTimeKind.Unspecified);

        var published = queue.PublishExit("web", 42, 0, exitedAt);

        Assert.That(published.Event.ExitedAt.ToDateTime(), Is.EqualTo(DateTime.SpecifyKind(exitedAt, DateTimeKind.Utc)));
    }

    [Test]
    public void Acknowledging_trims_every_event_up_to_and_including_the_sequence()
    {
        var queue = new EventQueue();
        PublishStarts(queue, 5);

        queue.Acknowledge(3);

        Assert.That(queue.Count, Is.EqualTo(2));
        Assert.That(Sequences(queue.After(0).Events), Is.EqualTo(Range(4, 5)));
    }

    [Test]
    public void Acknowledging_zero_or_an_already_acknowledged_sequence_trims_nothing_more()
    {
        var queue = new EventQueue();
        PublishStarts(queue, 3);

        queue.Acknowledge(0);
        Assert.That(queue.Count, Is.EqualTo(3));
        queue.Acknowledge(2);
        queue.Acknowledge(1);
        queue.Acknowledge(2);

        Assert.That(Sequences(queue.After(0).Events), Is.EqualTo(Range(3, 3)));
    }

    [Test]
    public void Acknowledging_everything_empties_the_queue_and_numbering_continues()
    {
        var queue = new EventQueue();
        PublishStarts(queue, 3);

        queue.Acknowledge(3);
        var next = queue.Publish("c", EventType.Start, 1);

        Assert.That(next.Sequence, Is.EqualTo(4ul), "a sequence is never reused, or an ack could trim an unseen event");
        Assert.That(queue.Count, Is.EqualTo(1));
    }

    [Test]
    public void An_ack_beyond_the_last_event_trims_only_what_exists()
    {
        var queue = new EventQueue();
        PublishStarts(queue, 2);

        queue.Acknowledge(10);
        var later = queue.Publish("c", EventType.Start, 3);

        Assert.That(queue.Count, Is.EqualTo(1), "an event published after the ack is not trimmed by it");
        Assert.That(Sequences(queue.After(0).Events), Is.EqualTo(new[] { later.Sequence }));
    }

    [Test]
    public void A_resubscriber_gets_every_unacknowledged_event_after_its_cursor_in_order()
    {
        var queue = new EventQueue();
        PublishStarts(queue, 6);
        queue.Acknowledge(2);

        Assert.That(Sequences(queue.After(0).Events), Is.EqualTo(Range(3, 6)), "a cursor before the acked ones yields only what is left");
        Assert.That(Sequences(queue.After(4).Events), Is.EqualTo(Range(5, 6)));
        Assert.That(queue.After(6).Events, Is.Empty);
        Assert.That(queue.Count, Is.EqualTo(4), "replay does not consume");
    }

    [Test]
    public void Replay_returns_the_published_events_themselves()
    {
        var queue = new EventQueue();
        var exit = queue.PublishExit("web", 42, 1, DateTime.UtcNow);

        var replayed = queue.After(0).Events.Single();

        Assert.That(replayed, Is.EqualTo(exit));
    }

    [Test]
    public void Nothing_unacknowledged_is_dropped_however_many_events_pile_up()
    {
        const int Many = 20_000;
        var queue = new EventQueue();
        PublishStarts(queue, Many);

        Assert.That(queue.Count, Is.EqualTo(Many));
        Assert.That(Sequences(queue.After(0).Events), Is.EqualTo(Range(1, Many)));

        queue.Acknowledge(Many / 2);
        Assert.That(Sequences(queue.After(0).Events), Is.EqualTo(Range(Many / 2 + 1, Many)));
    }

    [Test]
    public async Task Concurrent_publishers_get_distinct_sequences_queued_in_order()
    {
        const int PerPublisher = 2_000;
        const int Publishers = 4;
        var queue = new EventQueue();

        await Task.WhenAll(Enumerable.Range(0, Publishers).Select(_ => Task.Run(() => PublishStarts(queue, PerPublisher))))
            .WaitAsync(Timeout);

        Assert.That(Sequences(queue.After(0).Events), Is.EqualTo(Range(1, PerPublisher * Publishers)));
    }

    [Test]
    public async Task A_waiter_wakes_when_an_event_is_published()
    {
        var queue = new EventQueue();
        PublishStarts(queue, 1);
        var (events, next) = queue.After(1);
        Assert.That(events, Is.Empty);
        Assert.That(next.IsCompleted, Is.False);

        queue.Publish("c", EventType.Exit, 1);

        await next.WaitAsync(Timeout);
        Assert.That(Sequences(queue.After(1).Events), Is.EqualTo(Range(2, 2)));
    }

    [Test]
    public void An_acknowledgement_does_not_wake_a_waiter()
    {
        var queue = new EventQueue();
        PublishStarts(queue, 1);
        var (_, next) = queue.After(1);

        queue.Acknowledge(1);

        Assert.That(next.IsCompleted, Is.False);
    }

    [Test]
    public async Task StreamAsync_delivers_queued_events_then_live_ones_in_order()
    {
        var queue = new EventQueue();
        PublishStarts(queue, 3);
        var written = Channel.CreateUnbounded<ShimEvent>();
        using var cancel = new CancellationTokenSource();

        var streaming = queue.StreamAsync(1, e => written.Writer.WriteAsync(e).AsTask(), cancel.Token);
        Assert.That(Sequences(await Take(written.Reader, 2)), Is.EqualTo(Range(2, 3)), "queued events after the cursor first");

        queue.Publish("c", EventType.Exit, 4);
        queue.Publish("c", EventType.Exit, 5);
        Assert.That(Sequences(await Take(written.Reader, 2)), Is.EqualTo(Range(4, 5)), "then live ones");

        await cancel.CancelAsync();
        Assert.That(async () => await streaming.WaitAsync(Timeout), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(written.Reader.TryRead(out _), Is.False, "nothing is written twice");
    }

    [Test]
    public async Task StreamAsync_does_not_skip_events_published_while_a_write_is_in_flight()
    {
        var queue = new EventQueue();
        PublishStarts(queue, 1);
        var written = Channel.CreateUnbounded<ShimEvent>();
        var firstWriteEntered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var releaseFirstWrite = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var cancel = new CancellationTokenSource();

        var streaming = queue.StreamAsync(0, async e =>
        {
            if (e.Sequence == 1)
            {
                firstWriteEntered.SetResult();
                await releaseFirstWrite.Task;
            }
            await written.Writer.WriteAsync(e);
        }, cancel.Token);

        await firstWriteEntered.Task.WaitAsync(Timeout);
        PublishStarts(queue, 2);
        releaseFirstWrite.SetResult();

        Assert.That(Sequences(await Take(written.Reader, 3)), Is.EqualTo(Range(1, 3)));
        await cancel.CancelAsync();
        Assert.That(async () => await streaming.WaitAsync(Timeout), Throws.InstanceOf<OperationCanceledException>());
    }

    [Test]
    public async Task StreamAsync_ends_with_the_writers_error()
    {
        // A broken stream (daemon gone) must end the call, not spin.
        var queue = new EventQueue();
        PublishStarts(queue, 2);

        var streaming = queue.StreamAsync(0, _ => Task.FromException(new IOException("stream reset")), CancellationToken.None);

        Assert.That(async () => await streaming.WaitAsync(Timeout), Throws.InstanceOf<IOException>());
        Assert.That(queue.Count, Is.EqualTo(2), "an unsent event stays queued for the next subscriber");
    }

    [Test]
    public async Task StreamAsync_with_a_cancelled_token_writes_nothing()
    {
        var queue = new EventQueue();
        PublishStarts(queue, 2);
        var writes = 0;

        await queue.StreamAsync(0, _ => { writes++; return Task.CompletedTask; }, new CancellationToken(canceled: true))
            .WaitAsync(Timeout);

        Assert.That(writes, Is.Zero);
    }

    private static async Task<List<ShimEvent>> Take(ChannelReader<ShimEvent> reader, int count)
    {
        var taken = new List<ShimEvent>();
        while (taken.Count < count)
            taken.Add(await reader.ReadAsync().AsTask().WaitAsync(Timeout));
        return taken;
    }
}
