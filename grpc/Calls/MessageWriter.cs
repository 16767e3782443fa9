using System.Buffers;
using System.Buffers.Binary;
using Grpc.Core;

namespace Containerd.LeanGrpc.Calls;

/// <summary>
/// Serializes one message straight into its framed form (5-byte prefix, then
/// the payload), so the bytes handed to nghttp2 are copied once. The generated
/// marshallers use the buffer-writer path when the size is known up front.
/// </summary>
internal sealed class MessageWriter : SerializationContext, IBufferWriter<byte>
{
    private byte[] _buffer = [];
    private int _written = GrpcProtocol.PrefixLength;
    private bool _complete;

    public static byte[] Frame<T>(Marshaller<T> marshaller, T message, out int length)
    {
        var writer = new MessageWriter();
        marshaller.ContextualSerializer(message, writer);
        if (!writer._complete)
            throw new InvalidOperationException("the marshaller did not complete the message");
        length = writer._written;
        return writer._buffer;
    }

    public override void SetPayloadLength(int payloadLength)
    {
        if (_buffer.Length == 0)
            _buffer = new byte[GrpcProtocol.PrefixLength + payloadLength];
    }

    public override IBufferWriter<byte> GetBufferWriter() => this;

    public override void Complete(byte[] payload)
    {
        _buffer = new byte[GrpcProtocol.PrefixLength + payload.Length];
        payload.CopyTo(_buffer, GrpcProtocol.PrefixLength);
        _written = _buffer.Length;
        Complete();
    }

    public override void Complete()
    {
        EnsureCapacity(0);
        _buffer[0] = 0;
        BinaryPrimitives.WriteInt32BigEndian(_buffer.AsSpan(1), _written - GrpcProtocol.PrefixLength);
        _complete = true;
    }

    public void Advance(int count) => _written += count;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        EnsureCapacity(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        EnsureCapacity(sizeHint);
        return _buffer.AsSpan(_written);
    }

    private void EnsureCapacity(int sizeHint)
    {
        var needed = _written + Math.Max(sizeHint, 1);
        if (needed <= _buffer.Length)
            return;
        Array.Resize(ref _buffer, Math.Max(needed, Math.Max(256, _buffer.Length * 2)));
    }
}
