namespace Containerd.Http2.Frames;

/// <summary>
/// One complete header block: what the HEADERS frame said about it, the HPACK fragment, and the
/// frames exactly as received, so a block that needs no rewrite goes out byte for byte.
/// </summary>
/// <remarks>A view into buffers the next frame may overwrite: use it before reading on.</remarks>
internal readonly ref struct HeaderBlock(int streamId, byte flags, ReadOnlySpan<byte> priority, ReadOnlySpan<byte> frames, ReadOnlySpan<byte> fragment)
{
    public int StreamId { get; } = streamId;

    /// <summary>The HEADERS frame's flags (END_STREAM and PRIORITY carry over to a re-encoded block).</summary>
    public byte Flags { get; } = flags;

    /// <summary>The 5 priority bytes of the HEADERS frame; empty without the PRIORITY flag.</summary>
    public ReadOnlySpan<byte> Priority { get; } = priority;

    /// <summary>The HEADERS and CONTINUATION frames, headers included, as the client sent them.</summary>
    public ReadOnlySpan<byte> Frames { get; } = frames;

    /// <summary>The HPACK-encoded field block, padding and priority removed.</summary>
    public ReadOnlySpan<byte> Fragment { get; } = fragment;
}
