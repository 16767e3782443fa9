using Containerd.Api.Execution;
using Containerd.Api.Types;
using Task = System.Threading.Tasks.Task;
using Grpc.Core;

namespace Containerd.Tests.Support;

/// <summary>Records a namespace's event stream so tests can wait for and inspect events.</summary>
public sealed class EventRecorder : IAsyncDisposable
{
    private readonly List<Event> _events = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _pump;
    private readonly TaskCompletionSource _subscribed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Exception? _failure;

    public EventRecorder(DaemonClient client)
    {
        var call = client.Tasks.Events(new EventsRequest(), new CallOptions(client.Headers, cancellationToken: _stop.Token));
        _pump = Task.Run(async () =>
        {
            try
            {
                await call.ResponseHeadersAsync;
                _subscribed.TrySetResult();
                while (await call.ResponseStream.MoveNext(_stop.Token))
                {
                    lock (_events)
                    {
                        _events.Add(call.ResponseStream.Current);
                        Monitor.PulseAll(_events);
                    }
                }
            }
            catch (Exception e) when (_stop.IsCancellationRequested || e is RpcException { StatusCode: StatusCode.Cancelled })
            {
            }
            catch (Exception e)
            {
                _failure = e;
            }
            finally
            {
                _subscribed.TrySetResult();
                call.Dispose();
            }
        });
    }

    /// <summary>Completes once the daemon has accepted the subscription.</summary>
    public Task Subscribed => _subscribed.Task;

    public IReadOnlyList<Event> Events
    {
        get
        {
            lock (_events)
                return _events.ToList();
        }
    }

    public async Task<Event> WaitForAsync(Func<Event, bool> match, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (DateTime.UtcNow < deadline)
        {
            lock (_events)
            {
                var found = _events.FirstOrDefault(match);
                if (found is not null)
                    return found;
            }
            if (_failure is not null)
                throw new InvalidOperationException("event stream failed", _failure);
            await Task.Delay(20);
        }
        throw new TimeoutException("no matching event; saw: " + string.Join(", ", Events.Select(e => $"{e.Type}({e.Id},{e.Pid},{e.ExitStatus})")));
    }

    public Task<Event> WaitForExitAsync(string id, uint pid) =>
        WaitForAsync(e => e.Type == Event.Types.EventType.Exit && e.Id == id && e.Pid == pid);

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _pump;
        _stop.Dispose();
    }
}
