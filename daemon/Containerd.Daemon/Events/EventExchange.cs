using Containerd.Api.Types;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Containerd.Daemon.Events;

/// <summary>
/// Fans task events out to the Tasks.Events subscribers of their namespace.
/// Publishing never blocks a shim's event pump: a subscriber whose buffer is
/// full is cut off with an error instead, because a client that silently
/// misses an exit would wait forever.
/// <para>
/// Events of a namespace that has had no subscriber since the daemon started
/// are kept (bounded, oldest dropped first) and handed, once, to the first
/// subscriber of that namespace. A restarted daemon re-attaches its tasks and
/// replays what their shims queued while it was away (exits above all) before
/// it serves, so no client can be subscribed yet; without this backlog those
/// events would go nowhere and, acknowledged to the shim, be gone for good.
/// Later subscribers get only live events, as before.
/// </para>
/// </summary>
public sealed class EventExchange
{
    public const int DefaultCapacity = 4096;
    public const int DefaultBacklogCapacity = 16384;

    // One lock for publish and (un)subscribe gives every subscriber of a
    // namespace the same order, even with several pumps publishing at once.
    private readonly Lock _gate = new();
    private readonly List<EventSubscription> _subscribers = [];
    private readonly int _capacity;
    private readonly int _backlogCapacity;
    private readonly HashSet<string> _subscribedNamespaces = new(StringComparer.Ordinal);
    private readonly Queue<(string Namespace, Event Event)> _backlog = new();
    private readonly ILogger _logger;
    private long _backlogDropped;
    private bool _closed;

    public EventExchange(int capacity = DefaultCapacity, int backlogCapacity = DefaultBacklogCapacity, ILogger<EventExchange>? logger = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(backlogCapacity);
        _capacity = capacity;
        _backlogCapacity = backlogCapacity;
        _logger = logger ?? NullLogger<EventExchange>.Instance;
    }

    public EventSubscription Subscribe(string @namespace)
    {
        lock (_gate)
        {
            List<Event>? kept = null;
            if (!_closed && _subscribedNamespaces.Add(@namespace) && _backlog.Count > 0)
                kept = TakeBacklog(@namespace);
            // Room for the whole backlog on top of the usual buffer, so handing it
            // over can never cut the new subscriber off.
            var subscription = new EventSubscription(this, @namespace, _capacity + (kept?.Count ?? 0));
            if (_closed)
            {
                subscription.Close();
                return subscription;
            }
            if (kept is not null)
            {
                foreach (var evt in kept)
                    subscription.TryDeliver(evt);
            }
            _subscribers.Add(subscription);
            return subscription;
        }
    }

    public void Publish(string @namespace, Event evt)
    {
        lock (_gate)
        {
            if (!_subscribedNamespaces.Contains(@namespace))
            {
                Keep(@namespace, evt);
                return;
            }
            for (var i = _subscribers.Count - 1; i >= 0; i--)
            {
                var subscriber = _subscribers[i];
                if (subscriber.Namespace != @namespace || subscriber.TryDeliver(evt))
                    continue;
                subscriber.CutOff();
                _subscribers.RemoveAt(i);
            }
        }
    }

    /// <summary>Ends every stream (daemon shutdown), so that open Events calls do not hold the server up.</summary>
    public void CloseAll()
    {
        lock (_gate)
        {
            _closed = true;
            foreach (var subscriber in _subscribers)
                subscriber.Close();
            _subscribers.Clear();
        }
    }

    internal void Remove(EventSubscription subscription)
    {
        lock (_gate)
            _subscribers.Remove(subscription);
    }

    private void Keep(string @namespace, Event evt)
    {
        if (_backlogCapacity == 0)
            return;
        if (_backlog.Count >= _backlogCapacity)
        {
            var (droppedNamespace, _) = _backlog.Dequeue();
            // Once, then every thousandth: a namespace nobody ever watches can fill it.
            if (_backlogDropped++ % 1000 == 0)
                _logger.LogWarning("event backlog full ({Capacity} events for namespaces without subscribers); dropping the oldest, of {Namespace} ({Dropped} dropped so far)",
                    _backlogCapacity, droppedNamespace, _backlogDropped);
        }
        _backlog.Enqueue((@namespace, evt));
    }

    /// <summary>Removes and returns the namespace's kept events, in publish order.</summary>
    private List<Event> TakeBacklog(string @namespace)
    {
        var taken = new List<Event>();
        var count = _backlog.Count;
        for (var i = 0; i < count; i++)
        {
            var item = _backlog.Dequeue();
            if (item.Namespace == @namespace)
                taken.Add(item.Event);
            else
                _backlog.Enqueue(item);
        }
        if (_backlog.Count == 0)
            _backlog.TrimExcess();
        return taken;
    }
}
