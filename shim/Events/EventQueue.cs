using Containerd.Api.Shim;
using Event = Containerd.Api.Types.Event;
using Google.Protobuf.WellKnownTypes;

namespace Containerd.Shim.Events;

/// <summary>
/// Every event the shim emitted and the daemon has not acknowledged, numbered
/// from 1. Nothing unacknowledged is ever dropped: the daemon may be away
/// (restarting) and must learn every exit when it re-subscribes. Acks trim
/// the queue so memory stays flat.
/// </summary>
internal sealed class EventQueue
{
    private readonly object _gate = new();
    private readonly Queue<ShimEvent> _events = new();
    private ulong _lastSequence;
    private TaskCompletionSource _published = NewSignal();

    public ShimEvent Publish(Event @event)
    {
        TaskCompletionSource wake;
        ShimEvent item;
        lock (_gate)
        {
            item = new ShimEvent { Sequence = ++_lastSequence, Event = @event };
            _events.Enqueue(item);
            wake = _published;
            _published = NewSignal();
        }
        wake.TrySetResult();
        return item;
    }

    public ShimEvent Publish(string id, Event.Types.EventType type, uint pid) =>
        Publish(new Event { Id = id, Type = type, Pid = pid });

    public ShimEvent PublishExit(string id, uint pid, uint exitStatus, DateTime exitedAt) =>
        Publish(new Event
        {
            Id = id,
            Type = Event.Types.EventType.Exit,
            Pid = pid,
            ExitStatus = exitStatus,
            ExitedAt = Timestamp.FromDateTime(DateTime.SpecifyKind(exitedAt, DateTimeKind.Utc)),
        });

    /// <summary>Forgets every event up to and including <paramref name="sequence"/>.</summary>
    public void Acknowledge(ulong sequence)
    {
        lock (_gate)
        {
            var trimmed = false;
            while (_events.TryPeek(out var head) && head.Sequence <= sequence)
            {
                _events.Dequeue();
                trimmed = true;
            }
            if (trimmed && _events.Count == 0)
                _events.TrimExcess();
        }
    }

    public int Count
    {
        get
        {
            lock (_gate)
                return _events.Count;
        }
    }

    /// <summary>
    /// Events after <paramref name="afterSequence"/> (possibly none), and a
    /// task that completes when a newer event is published.
    /// </summary>
    public (List<ShimEvent> Events, Task Next) After(ulong afterSequence)
    {
        lock (_gate)
        {
            var list = new List<ShimEvent>();
            foreach (var item in _events)
            {
                if (item.Sequence > afterSequence)
                    list.Add(item);
            }
            return (list, _published.Task);
        }
    }

    /// <summary>Streams queued events after <paramref name="afterSequence"/>, then live ones, in order.</summary>
    public async Task StreamAsync(ulong afterSequence, Func<ShimEvent, Task> write, CancellationToken cancellationToken)
    {
        var cursor = afterSequence;
        while (!cancellationToken.IsCancellationRequested)
        {
            var (batch, next) = After(cursor);
            foreach (var item in batch)
            {
                await write(item).ConfigureAwait(false);
                cursor = item.Sequence;
            }
            if (batch.Count == 0)
                await next.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
