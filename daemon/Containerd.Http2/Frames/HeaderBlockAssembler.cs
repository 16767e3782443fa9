using System.Buffers;

namespace Containerd.Http2.Frames;

/// <summary>
/// Reassembles a header block from its HEADERS frame and the CONTINUATION frames after it. It keeps
/// the frames as received next to the fragment: a block that needs no rewrite, or one inspection
/// gives up on, must go out exactly as it came in.
/// </summary>
/// <remarks>Not thread-safe: one instance serves one connection.</remarks>
internal sealed class HeaderBlockAssembler
{
    private const int PriorityLength = 5;

    private readonly byte[] _priority = new byte[PriorityLength];
    private int _streamId;
    private byte _flags;
    private byte[] _frames = [];
    private int _framesLength;
    private byte[] _fragment = [];
    private int _fragmentLength;

    /// <summary>True between a HEADERS frame without END_HEADERS and the CONTINUATION that ends its block.</summary>
    public bool IsPending { get; private set; }

    /// <summary>The stream of the pending block.</summary>
    public int StreamId => _streamId;

    /// <summary>The frames of the pending block, as received.</summary>
    public ReadOnlySpan<byte> Buffered => _frames.AsSpan(0, _framesLength);

    /// <summary>
    /// True if <paramref name="header"/> may not come next: a pending block must be followed by
    /// CONTINUATION frames of its own stream (a PROTOCOL_ERROR otherwise), and a CONTINUATION
    /// needs a pending block.
    /// </summary>
    public bool IsOutOfSequence(FrameHeader header) => IsPending
        ? header.Type != FrameType.Continuation || header.StreamId != _streamId
        : header.Type == FrameType.Continuation;

    /// <summary>
    /// Adds a whole HEADERS or CONTINUATION frame. A <see cref="HeaderBlockStatus.Complete"/> block is
    /// valid until the next call; call <see cref="Reset"/> once it has been handled.
    /// </summary>
    public HeaderBlockStatus Add(ReadOnlySequence<byte> frame, FrameHeader header, out HeaderBlock block) =>
        header.Type == FrameType.Headers ? AddHeaders(frame, header, out block) : AddContinuation(frame, header, out block);

    /// <summary>Forgets the current block.</summary>
    public void Reset()
    {
        IsPending = false;
        _framesLength = 0;
        _fragmentLength = 0;
    }

    private HeaderBlockStatus AddHeaders(ReadOnlySequence<byte> frame, FrameHeader header, out HeaderBlock block)
    {
        block = default;
        var endHeaders = header.Has(FrameFlags.EndHeaders);
        ReadOnlySpan<byte> raw;
        if (endHeaders && frame.IsSingleSegment)
        {
            raw = frame.FirstSpan; // the common case: no copy
        }
        else
        {
            AppendFrame(frame);
            raw = Buffered;
        }

        var payloadLength = raw.Length - FrameHeader.Size;
        var offset = FrameHeader.Size;
        var padLength = 0;
        if (header.Has(FrameFlags.Padded))
        {
            // Kestrel rejects padding that leaves no room for anything else.
            if (payloadLength < 1 || raw[offset] >= payloadLength - 1)
            {
                Reset();
                return HeaderBlockStatus.Malformed;
            }

            padLength = raw[offset++];
        }

        if (header.Has(FrameFlags.Priority))
        {
            if (raw.Length - offset - padLength < PriorityLength)
            {
                Reset();
                return HeaderBlockStatus.Malformed;
            }

            raw.Slice(offset, PriorityLength).CopyTo(_priority);
            offset += PriorityLength;
        }

        var fragment = raw[offset..^padLength];
        _streamId = header.StreamId;
        _flags = header.Flags;
        if (endHeaders)
        {
            block = Complete(raw, fragment);
            return HeaderBlockStatus.Complete;
        }

        IsPending = true;
        AppendFragment(fragment);
        return HeaderBlockStatus.Incomplete;
    }

    private HeaderBlockStatus AddContinuation(ReadOnlySequence<byte> frame, FrameHeader header, out HeaderBlock block)
    {
        block = default;
        AppendFrame(frame);
        AppendFragment(_frames.AsSpan(_framesLength - header.Length, header.Length)); // CONTINUATION has no padding
        if (!header.Has(FrameFlags.EndHeaders))
        {
            return HeaderBlockStatus.Incomplete;
        }

        block = Complete(Buffered, _fragment.AsSpan(0, _fragmentLength));
        return HeaderBlockStatus.Complete;
    }

    private HeaderBlock Complete(ReadOnlySpan<byte> frames, ReadOnlySpan<byte> fragment) =>
        new(_streamId, _flags, (_flags & FrameFlags.Priority) != 0 ? _priority : [], frames, fragment);

    private void AppendFrame(in ReadOnlySequence<byte> frame)
    {
        var length = (int)frame.Length;
        EnsureCapacity(ref _frames, _framesLength + length);
        frame.CopyTo(_frames.AsSpan(_framesLength));
        _framesLength += length;
    }

    private void AppendFragment(ReadOnlySpan<byte> fragment)
    {
        EnsureCapacity(ref _fragment, _fragmentLength + fragment.Length);
        fragment.CopyTo(_fragment.AsSpan(_fragmentLength));
        _fragmentLength += fragment.Length;
    }

    private static void EnsureCapacity(ref byte[] buffer, int needed)
    {
        if (buffer.Length < needed)
        {
            Array.Resize(ref buffer, Math.Max(needed, Math.Max(4096, 2 * buffer.Length)));
        }
    }
}
