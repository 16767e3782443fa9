using System.Threading.Channels;
using Containerd.Api.Execution;
using Containerd.Api.Types;
using Grpc.Core;
using Task = System.Threading.Tasks.Task;

namespace Containerd.Ctr.Client;

/// <summary>
/// A Tasks.Events stream opened before a process is created or started, so
/// that even an instant exit is seen. Events are buffered until someone waits.
/// </summary>
public sealed class EventSubscription : IAsyncDisposable
{
    /// <summary>How long to wait for the stream's headers; a daemon may send none before its first event.</summary>
    private static readonly TimeSpan HeaderWait = TimeSpan.FromMilliseconds(100);

    /// <summary>How often the daemon is asked directly, in case an event was lost.</summary>
    private static readonly TimeSpan ProbeInterval = TimeSpan.FromSeconds(1);

    private readonly AsyncServerStreamingCall<Event> _call;
    private readonly CancellationTokenSource _stop;
    private readonly Channel<Event> _events = Channel.CreateUnbounded<Event>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _pump;

    private EventSubscription(AsyncServerStreamingCall<Event> call, CancellationTokenSource stop)
    {
        _call = call;
        _stop = stop;
        _pump = PumpAsync();
    }

    public delegate Task<ProcessExit?> ExitProbe(CancellationToken cancellationToken);

    public static async Task<EventSubscription> OpenAsync(DaemonClient client, CancellationToken cancellationToken)
    {
        var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var call = client.Tasks.Events(new EventsRequest(), cancellationToken: stop.Token);
        try
        {
            // Headers, when the daemon sends them, prove the subscription is
            // in place; a connection failure surfaces here as a clear error.
            var headers = call.ResponseHeadersAsync;
            if (await Task.WhenAny(headers, Task.Delay(HeaderWait, cancellationToken)) == headers)
                await headers;
        }
        catch
        {
            call.Dispose();
            stop.Dispose();
            throw;
        }
        return new EventSubscription(call, stop);
    }

    /// <summary>
    /// Waits for the EXIT event of <paramref name="pid"/> in container <paramref name="id"/>.
    /// Every <see cref="ProbeInterval"/> without it, <paramref name="probe"/> asks the daemon directly.
    /// </summary>
    public async Task<ProcessExit> WaitForExitAsync(string id, uint pid, ExitProbe probe, CancellationToken cancellationToken)
    {
        var streaming = true;
        while (true)
        {
            if (streaming)
            {
                using var tick = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                tick.CancelAfter(ProbeInterval);
                try
                {
                    while (await _events.Reader.WaitToReadAsync(tick.Token))
                    {
                        while (_events.Reader.TryRead(out var e))
                        {
                            if (e.Type == Event.Types.EventType.Exit && e.Id == id && e.Pid == pid)
                                return new ProcessExit(e.ExitStatus, e.ExitedAt?.ToDateTime());
                        }
                    }
                    streaming = false;
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                }
                catch (RpcException)
                {
                    // The stream broke (e.g. the daemon restarted); probing still works once it is back.
                    streaming = false;
                }
            }
            else
            {
                await Task.Delay(ProbeInterval, cancellationToken);
            }

            var probed = await probe(cancellationToken);
            if (probed is not null)
                return probed;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _pump;
        _call.Dispose();
        _stop.Dispose();
    }

    private async Task PumpAsync()
    {
        try
        {
            while (await _call.ResponseStream.MoveNext(_stop.Token))
                _events.Writer.TryWrite(_call.ResponseStream.Current);
            _events.Writer.TryComplete();
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
            _events.Writer.TryComplete();
        }
        catch (Exception e)
        {
            _events.Writer.TryComplete(e);
        }
    }
}
