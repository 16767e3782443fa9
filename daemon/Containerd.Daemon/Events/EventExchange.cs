using Containerd.Api.Types;

namespace Containerd.Daemon.Events;

/// <summary>
/// Fans task events out to the Tasks.Events subscribers of their namespace.
/// Publishing never blocks a shim's event pump: a subscriber whose buffer is
/// full is cut off with an error instead, because a client that silently
/// misses an exit would wait forever.
/// </summary>
public sealed class EventExchange
{
    public const int DefaultCapacity = 4096;

    // One lock for publish and (un)subscribe gives every subscriber of a
    // namespace the same order, even with several pumps publishing at once.
    private readonly Lock _gate = new();
    private readonly List<EventSubscription> _subscribers = [];
    private readonly int _capacity;
    private bool _closed;

    public EventExchange(int capacity = DefaultCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
    }

    public EventSubscription Subscribe(string @namespace)
    {
        var subscription = new EventSubscription(this, @namespace, _capacity);
        lock (_gate)
        {
            if (_closed)
                subscription.Close();
            else
                _subscribers.Add(subscription);
        }
        return subscription;
    }

    public void Publish(string @namespace, Event evt)
    {
        lock (_gate)
        {
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
}
