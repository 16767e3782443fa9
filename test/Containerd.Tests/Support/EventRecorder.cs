using Containerd.Api.Execution;
using Containerd.Api.Types;
using Task = System.Threading.Tasks.Task;
using Grpc.Core;

namespace Containerd.Tests.Support;

/// <summary>
/// Records a namespace's event stream so tests can wait for and inspect events. A waiter is
/// completed by the event that matches it as that event arrives: nothing polls.
/// </summary>
public sealed class EventRecorder : IAsyncDisposable
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    private readonly List<Event> _events = new();
    private readonly List<Waiter> _waiters = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _pump;
    private readonly TaskCompletionSource _subscribed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Set under the lock of _events when the stream ends: from then on no event can match a waiter.
    private Exception? _ended;

    public EventRecorder(DaemonClient client)
    {
        var call = client.Tasks.Events(new EventsRequest(), new CallOptions(client.Headers, cancellationToken: _stop.Token));
        _pump = Task.Run(async () =>
        {
            Exception ended;
            try
            {
                await call.ResponseHeadersAsync;
                _subscribed.TrySetResult();
                while (await call.ResponseStream.MoveNext(_stop.Token))
                    Add(call.ResponseStream.Current);
                ended = new InvalidOperationException("the daemon ended the event stream");
            }
            catch (Exception e) when (_stop.IsCancellationRequested)
            {
                ended = new ObjectDisposedException(nameof(EventRecorder), e);
            }
            catch (Exception e)
            {
                ended = new InvalidOperationException("the event stream failed", e);
            }
            finally
            {
                call.Dispose();
            }
            End(ended);
        });
    }

    /// <summary>Completes once the daemon has accepted the subscription; faults when it did not.</summary>
    public Task Subscribed => _subscribed.Task;

    public IReadOnlyList<Event> Events
    {
        get
        {
            lock (_events)
                return _events.ToList();
        }
    }

    /// <summary>The first event (already seen or still to come) that matches.</summary>
    public async Task<Event> WaitForAsync(Func<Event, bool> match, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var waiter = new Waiter(match);
        lock (_events)
        {
            var found = _events.FirstOrDefault(match);
            if (found is not null)
                return found;
            if (_ended is not null)
                throw new InvalidOperationException("no matching event, and the stream has ended; saw: " + Describe(_events), _ended);
            _waiters.Add(waiter);
        }
        try
        {
            return await waiter.Found.Task.WaitAsync(timeout ?? DefaultTimeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"no matching event within {(timeout ?? DefaultTimeout).TotalSeconds} s; saw: " + Describe(Events));
        }
        finally
        {
            lock (_events)
                _waiters.Remove(waiter);
        }
    }

    public Task<Event> WaitForExitAsync(string id, uint pid, CancellationToken cancellationToken = default) =>
        WaitForAsync(e => e.Type == Event.Types.EventType.Exit && e.Id == id && e.Pid == pid, cancellationToken: cancellationToken);

    /// <summary>The events of one task as (type, container id, pid), in the order they arrived.</summary>
    public IReadOnlyList<(Event.Types.EventType Type, string Id, uint Pid)> Sequence(string id) =>
        Events.Where(e => e.Id == id).Select(e => (e.Type, e.Id, e.Pid)).ToList();

    /// <summary>Every event as (type, container id, pid), in the order they arrived.</summary>
    public IReadOnlyList<(Event.Types.EventType Type, string Id, uint Pid)> Sequence() =>
        Events.Select(e => (e.Type, e.Id, e.Pid)).ToList();

    /// <summary>The sequence a task publishes from Create to its init's exit, with no exec in between.</summary>
    public static IReadOnlyList<(Event.Types.EventType Type, string Id, uint Pid)> CreateStartExit(string id, uint pid) =>
    [
        (Event.Types.EventType.Create, id, pid),
        (Event.Types.EventType.Start, id, pid),
        (Event.Types.EventType.Exit, id, pid),
    ];

    private void Add(Event e)
    {
        lock (_events)
        {
            _events.Add(e);
            // Continuations run asynchronously (see Waiter), so completing under the lock is safe.
            foreach (var waiter in _waiters.Where(w => w.Match(e)).ToList())
            {
                waiter.Found.TrySetResult(e);
                _waiters.Remove(waiter);
            }
        }
    }

    private void End(Exception ended)
    {
        _subscribed.TrySetException(ended);
        lock (_events)
        {
            _ended = ended;
            foreach (var waiter in _waiters)
                waiter.Found.TrySetException(new InvalidOperationException("no matching event before the stream ended; saw: " + Describe(_events), ended));
            _waiters.Clear();
        }
    }

    private static string Describe(IEnumerable<Event> events) =>
        string.Join(", ", events.Select(e => $"{e.Type}({e.Id},{e.Pid},{e.ExitStatus})"));

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _pump;
        _stop.Dispose();
    }

    private sealed class Waiter(Func<Event, bool> match)
    {
        public Func<Event, bool> Match { get; } = match;

        public TaskCompletionSource<Event> Found { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
