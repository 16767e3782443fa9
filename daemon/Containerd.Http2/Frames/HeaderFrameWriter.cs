using System.Buffers;

namespace Containerd.Http2.Frames;

/// <summary>
/// Frames a re-encoded header block in place of the client's: one HEADERS frame and as many
/// CONTINUATION frames as the block needs, on the original stream.
/// </summary>
internal sealed class HeaderFrameWriter
{
    private readonly int _maxFrameSize;

    /// <param name="maxFrameSize">
    /// Largest payload per frame: a re-encoded block can be longer than the client's and is split
    /// so no frame exceeds what the server accepts.
    /// </param>
    public HeaderFrameWriter(int maxFrameSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxFrameSize, 16);
        _maxFrameSize = maxFrameSize;
    }

    /// <summary>
    /// Writes <paramref name="fieldBlock"/> with <paramref name="original"/>'s stream, END_STREAM and
    /// priority. Padding is dropped: it carries nothing and re-encoding has already changed the length.
    /// </summary>
    public void Write(HeaderBlock original, ReadOnlySpan<byte> fieldBlock, IBufferWriter<byte> output)
    {
        var priority = original.Priority;
        var firstLength = Math.Min(fieldBlock.Length, _maxFrameSize - priority.Length);
        var flags = (byte)(original.Flags & (FrameFlags.EndStream | FrameFlags.Priority));
        if (firstLength == fieldBlock.Length)
        {
            flags |= FrameFlags.EndHeaders;
        }

        new FrameHeader(firstLength + priority.Length, FrameType.Headers, flags, original.StreamId).Write(output);
        if (!priority.IsEmpty)
        {
            output.Write(priority);
        }

        output.Write(fieldBlock[..firstLength]);
        fieldBlock = fieldBlock[firstLength..];
        while (!fieldBlock.IsEmpty)
        {
            var length = Math.Min(fieldBlock.Length, _maxFrameSize);
            var last = length == fieldBlock.Length;
            new FrameHeader(length, FrameType.Continuation, last ? FrameFlags.EndHeaders : (byte)0, original.StreamId).Write(output);
            output.Write(fieldBlock[..length]);
            fieldBlock = fieldBlock[length..];
        }
    }

    /// <summary>
    /// A HEADERS frame whose block has a table size update after a field: every HPACK decoder rejects
    /// it, Kestrel with COMPRESSION_ERROR, which ends the connection. It stands in for a block that
    /// cannot be forwarded once re-encoding has left the server's table behind the client's.
    /// </summary>
    public static void WriteUndecodable(int streamId, IBufferWriter<byte> output)
    {
        new FrameHeader(2, FrameType.Headers, FrameFlags.EndStream | FrameFlags.EndHeaders, streamId).Write(output);
        ReadOnlySpan<byte> block = [0x82, 0x20]; // ":method: GET", then "table size update to 0"
        output.Write(block);
    }
}
