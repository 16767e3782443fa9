using System.Buffers;
using System.Buffers.Binary;

namespace Containerd.Http2.Frames;

/// <summary>The 9-byte header every HTTP/2 frame starts with (RFC 9113 section 4.1).</summary>
internal readonly record struct FrameHeader(int Length, byte Type, byte Flags, int StreamId)
{
    public const int Size = 9;

    /// <summary>The whole frame: header and payload.</summary>
    public int FrameLength => Size + Length;

    public bool CarriesHeaderBlock => Type is FrameType.Headers or FrameType.Continuation;

    public bool Has(byte flag) => (Flags & flag) != 0;

    /// <summary>
    /// Reads a header without consuming it: a header frame is only consumed once all of it has
    /// arrived, so its header is read again with the rest of the frame.
    /// </summary>
    public static bool TryPeek(ref SequenceReader<byte> reader, out FrameHeader header)
    {
        Span<byte> bytes = stackalloc byte[Size];
        if (!reader.TryCopyTo(bytes))
        {
            header = default;
            return false;
        }

        header = new FrameHeader(
            (bytes[0] << 16) | (bytes[1] << 8) | bytes[2],
            bytes[3],
            bytes[4],
            (int)(BinaryPrimitives.ReadUInt32BigEndian(bytes[5..]) & 0x7FFFFFFF));
        return true;
    }

    /// <summary>Writes the header; the reserved bit goes out clear, as RFC 9113 asks of senders.</summary>
    public void Write(IBufferWriter<byte> output)
    {
        Span<byte> bytes = stackalloc byte[Size];
        bytes[0] = (byte)(Length >> 16);
        bytes[1] = (byte)(Length >> 8);
        bytes[2] = (byte)Length;
        bytes[3] = Type;
        bytes[4] = Flags;
        BinaryPrimitives.WriteInt32BigEndian(bytes[5..], StreamId);
        output.Write(bytes);
    }
}
