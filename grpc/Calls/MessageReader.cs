using System.Buffers;
using Grpc.Core;

namespace Containerd.LeanGrpc.Calls;

/// <summary>The received payload as the generated marshallers want to read it.</summary>
internal sealed class MessageReader(byte[] payload) : DeserializationContext
{
    public override int PayloadLength => payload.Length;

    public override byte[] PayloadAsNewBuffer() => (byte[])payload.Clone();

    public override ReadOnlySequence<byte> PayloadAsReadOnlySequence() => new(payload);
}
