using Grpc.Core;

namespace Containerd.LeanGrpc.Calls;

/// <summary>
/// A server stream's writer. A write completes once nghttp2 has taken all its
/// bytes, so a slow reader holds back the writer instead of growing a queue.
/// </summary>
internal sealed class ResponseStreamWriter<T>(ServerCall call, Marshaller<T> marshaller) : IServerStreamWriter<T>
{
    public WriteOptions? WriteOptions { get; set; }

    public Task WriteAsync(T message) => WriteAsync(message, CancellationToken.None);

    public Task WriteAsync(T message, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
            return Task.FromCanceled(cancellationToken);
        var framed = MessageWriter.Frame(marshaller, message, out var length);
        return call.WriteAsync(framed, length, cancellationToken);
    }
}
