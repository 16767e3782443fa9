using System.Threading.Channels;
using Containerd.Api.Types;
using Grpc.Core;

namespace Containerd.Daemon.Events;

/// <summary>One Tasks.Events stream: a bounded buffer between the exchange and the client.</summary>
public sealed class EventSubscription : IDisposable
{
    public const string ShuttingDownMessage = "the daemon is shutting down";

    public const string TooSlowMessage = "event subscriber too slow; events were not skipped, the stream was closed";

    private readonly EventExchange _exchange;
    private readonly Channel<Event> _channel;

    internal EventSubscription(EventExchange exchange, string @namespace, int capacity)
    {
        _exchange = exchange;
        Namespace = @namespace;
        _channel = Channel.CreateBounded<Event>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    public string Namespace { get; }

    /// <summary>
    /// The events in publish order. When the subscriber was cut off, the events
    /// buffered before that come first, then an <see cref="RpcException"/>
    /// (ResourceExhausted) is thrown.
    /// </summary>
    public async IAsyncEnumerable<Event> ReadAllAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var reader = _channel.Reader;
        while (true)
        {
            bool more;
            try
            {
                more = await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ChannelClosedException e) when (e.InnerException is RpcException inner)
            {
                throw inner;
            }
            if (!more)
                yield break;
            while (reader.TryRead(out var evt))
                yield return evt;
        }
    }

    internal bool TryDeliver(Event evt) => _channel.Writer.TryWrite(evt);

    internal void CutOff() =>
        _channel.Writer.TryComplete(new RpcException(new Grpc.Core.Status(StatusCode.ResourceExhausted, TooSlowMessage)));

    /// <summary>Daemon shutdown: an error, not a clean end, so the client knows events may follow elsewhere.</summary>
    internal void Close() =>
        _channel.Writer.TryComplete(new RpcException(new Grpc.Core.Status(StatusCode.Unavailable, ShuttingDownMessage)));

    public void Dispose()
    {
        _exchange.Remove(this);
        _channel.Writer.TryComplete();
    }
}
