using Containerd.Api.Content;
using Grpc.Core;

namespace Containerd.Ctr.Client;

/// <summary>
/// A blob read through the Content API as a stream, chunk by chunk as the
/// daemon sends them, so a layer is never held whole in memory. Disposing it
/// cancels the call: a reader that found what it wanted stops the transfer.
/// </summary>
public sealed class ContentReadStream : Stream
{
    private readonly AsyncServerStreamingCall<ReadContentResponse> _call;
    private ReadOnlyMemory<byte> _chunk = ReadOnlyMemory<byte>.Empty;
    private bool _ended;

    public ContentReadStream(DaemonClient client, string digest, CancellationToken cancellationToken)
    {
        _call = client.Content.Read(new ReadContentRequest { Digest = digest }, cancellationToken: cancellationToken);
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (_chunk.IsEmpty)
        {
            if (_ended || !await _call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
            {
                _ended = true;
                return 0;
            }
            _chunk = _call.ResponseStream.Current.Data.Memory;
        }
        var count = Math.Min(buffer.Length, _chunk.Length);
        _chunk[..count].CopyTo(buffer);
        _chunk = _chunk[count..];
        return count;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    // Synchronous reads are for readers that have no async path; ctr has no synchronization context to deadlock.
    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            _call.Dispose();
        base.Dispose(disposing);
    }
}
