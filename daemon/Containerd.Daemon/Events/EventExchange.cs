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
/// Later subscribers get only live events, as before. With a
/// <see cref="EventBacklogStore"/> the backlog's EXITs are also kept on disk
/// until delivered, and loaded again at start, so they survive restarts of a
/// daemon nobody subscribed to in between. Only EXITs: an exit acknowledged to
/// its shim exists nowhere else, while the rest (CREATE, START...) is the
/// past of a state any client can ask for.
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
    private readonly EventBacklogStore? _store;
    // Per namespace, records its file holds beyond what the backlog keeps (the oldest,
    // dropped from memory): rewritten away in batches, not for every dropped event.
    private readonly Dictionary<string, int> _staleRecords = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _keptCounts = new(StringComparer.Ordinal);
    private long _backlogDropped;
    private bool _closed;

    /// <param name="store">Where the backlog is kept across restarts; what it holds is loaded now.</param>
    public EventExchange(
        int capacity = DefaultCapacity, int backlogCapacity = DefaultBacklogCapacity, ILogger<EventExchange>? logger = null,
        EventBacklogStore? store = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(backlogCapacity);
        _capacity = capacity;
        _backlogCapacity = backlogCapacity;
        _logger = logger ?? NullLogger<EventExchange>.Instance;
        _store = store;
        if (store is not null)
            LoadBacklog(store);
    }

    public EventSubscription Subscribe(string @namespace)
    {
        lock (_gate)
        {
            List<Event>? kept = null;
            if (!_closed && _subscribedNamespaces.Add(@namespace))
            {
                if (_backlog.Count > 0)
                    kept = TakeBacklog(@namespace);
                // Handed over (or nothing left): the file has served its purpose.
                _store?.Remove(@namespace);
                _staleRecords.Remove(@namespace);
                _keptCounts.Remove(@namespace);
            }
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
            var (droppedNamespace, dropped) = _backlog.Dequeue();
            // Once, then every thousandth: a namespace nobody ever watches can fill it.
            if (_backlogDropped++ % 1000 == 0)
                _logger.LogWarning("event backlog full ({Capacity} events for namespaces without subscribers); dropping the oldest, of {Namespace} ({Dropped} dropped so far)",
                    _backlogCapacity, droppedNamespace, _backlogDropped);
            if (_store is not null && IsKeptOnDisk(dropped))
                DroppedFromFile(droppedNamespace);
        }
        _backlog.Enqueue((@namespace, evt));
        if (_store is null || !IsKeptOnDisk(evt))
            return;
        _store.Append(@namespace, evt);
        _keptCounts[@namespace] = _keptCounts.GetValueOrDefault(@namespace) + 1;
    }

    /// <summary>
    /// The file of a namespace keeps its dropped events until they outnumber
    /// the ones it still has (at least 64): then it is rewritten, so the disk
    /// stays bounded as the backlog is, at amortised constant cost per event.
    /// </summary>
    private void DroppedFromFile(string @namespace)
    {
        var stale = _staleRecords.GetValueOrDefault(@namespace) + 1;
        var keptCount = _keptCounts[@namespace] = _keptCounts.GetValueOrDefault(@namespace) - 1;
        if (stale < Math.Max(64, keptCount))
        {
            _staleRecords[@namespace] = stale;
            return;
        }
        _store!.Rewrite(@namespace, KeptOnDisk(@namespace));
        _staleRecords.Remove(@namespace);
    }

    /// <summary>
    /// At start: what the files hold, oldest first within each namespace,
    /// bounded as the in-memory backlog is. The files are rewritten when more
    /// was on disk than is kept, so they hold exactly the backlog again.
    /// </summary>
    private void LoadBacklog(EventBacklogStore store)
    {
        var loaded = store.Load();
        foreach (var (@namespace, events) in loaded)
        {
            foreach (var evt in events)
                _backlog.Enqueue((@namespace, evt));
            _keptCounts[@namespace] = events.Count;
        }
        var excess = _backlog.Count - _backlogCapacity;
        for (var i = 0; i < excess; i++)
        {
            var (dropped, _) = _backlog.Dequeue();
            _keptCounts[dropped]--;
        }
        if (excess > 0)
        {
            foreach (var (@namespace, _) in loaded)
                store.Rewrite(@namespace, KeptOnDisk(@namespace));
        }
        if (_backlog.Count > 0)
            _logger.LogInformation("{Count} events kept for namespaces without subscribers loaded from {Directory}", _backlog.Count, store.Directory);
    }

    private static bool IsKeptOnDisk(Event evt) => evt.Type == Event.Types.EventType.Exit;

    private List<Event> KeptOnDisk(string @namespace) =>
        _backlog.Where(item => item.Namespace == @namespace && IsKeptOnDisk(item.Event)).Select(item => item.Event).ToList();

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
