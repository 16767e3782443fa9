using System.Buffers;
using Containerd.Http2.Frames;
using Microsoft.Extensions.Logging;

namespace Containerd.Http2;

// Why this exists at all: Kestrel rejects a request whose :authority is not a valid host, and Go
// gRPC clients dialing a unix socket send the socket path. Kestrel has no switch to accept it
// (dotnet/aspnetcore#47043 is open) and no NuGet package offers an HPACK codec to rewrite it, so
// the frames, HPACK and the rewrite are done here.

/// <summary>
/// Rewrites the client-to-server byte stream of one HTTP/2 connection so that every request
/// <c>:authority</c> Kestrel would reject (a unix socket path, an empty value, ...) becomes
/// <c>localhost</c>, keeping HPACK state consistent between the client and the server.
/// </summary>
/// <remarks>
/// <para>
/// This type only walks the frames: other frames pass byte for byte, header blocks are assembled
/// (<see cref="HeaderBlockAssembler"/>), judged and re-encoded if need be
/// (<see cref="HeaderBlockRewriter"/>, <see cref="AuthorityRule"/>) and framed again
/// (<see cref="HeaderFrameWriter"/>).
/// </para>
/// <para>
/// Anything malformed ends inspection: the remaining bytes pass through unchanged so the server
/// reports the error it would report without this class. In re-encode mode a malformed header
/// block cannot be passed on (it would be decoded against the server's stale table), so it is
/// replaced by a block that fails HPACK decoding (COMPRESSION_ERROR), the error the server gives
/// for undecodable blocks.
/// </para>
/// <para>Not thread-safe: one instance serves one connection, fed by one reader.</para>
/// </remarks>
public sealed class Http2AuthorityRewriter
{
    private readonly Http2AuthorityRewriterOptions _options;
    private readonly HeaderBlockAssembler _blocks = new();
    private readonly HeaderBlockRewriter _rewriter;
    private readonly HeaderFrameWriter _writer;

    private State _state = State.Preface;
    private int _forwardRemaining;

    public Http2AuthorityRewriter(Http2AuthorityRewriterOptions? options = null, ILogger? logger = null, string? connectionId = null)
    {
        _options = options ?? new Http2AuthorityRewriterOptions();
        if (_options.MaxOutboundFrameSize < 16 || _options.MaxInboundFrameSize < 1 || _options.HeaderTableSize < 0)
        {
            throw new ArgumentException("Invalid HTTP/2 frame or table size.", nameof(options));
        }

        _rewriter = new HeaderBlockRewriter(new AuthorityRule(_options.ReplacementAuthority), _options.HeaderTableSize, logger, connectionId ?? "-");
        _writer = new HeaderFrameWriter(_options.MaxOutboundFrameSize);
    }

    private enum State
    {
        Preface,
        FrameHeader,
        Forwarding,
        PassThrough,
    }

    /// <summary>True once the connection has switched to re-encoding header blocks.</summary>
    public bool IsReencoding => _rewriter.IsReencoding;

    /// <summary>False once inspection has stopped (not HTTP/2, malformed input): all bytes pass unchanged.</summary>
    public bool IsInspecting => _state != State.PassThrough;

    /// <summary>Number of :authority values replaced so far.</summary>
    public long RewrittenAuthorities => _rewriter.RewrittenAuthorities;

    /// <summary>
    /// Consumes bytes from <paramref name="input"/> and writes the rewritten stream to <paramref name="output"/>.
    /// Returns how far the input was consumed; the unconsumed rest (an incomplete frame header or header
    /// frame) must be offered again with more data appended. With <paramref name="endOfInput"/> set,
    /// everything is consumed and whatever was held back is written unchanged.
    /// </summary>
    public SequencePosition Process(in ReadOnlySequence<byte> input, IBufferWriter<byte> output, bool endOfInput)
    {
        var reader = new SequenceReader<byte>(input);
        while (true)
        {
            bool progressed;
            switch (_state)
            {
                case State.PassThrough:
                    Copy(reader.UnreadSequence, output);
                    reader.AdvanceToEnd();
                    return reader.Position;
                case State.Preface:
                    progressed = TryProcessPreface(ref reader, output);
                    break;
                case State.Forwarding:
                    progressed = TryForward(ref reader, output);
                    break;
                default:
                    progressed = TryProcessFrame(input, ref reader, output);
                    break;
            }

            if (!progressed)
            {
                break;
            }
        }

        if (endOfInput && (_blocks.IsPending || !reader.End))
        {
            // The stream ended inside a frame: hand over what was held back, as it was. A pending
            // block already re-encoding is dropped: the connection is over, nothing decodes it.
            if (_blocks.IsPending && !IsReencoding)
            {
                output.Write(_blocks.Buffered);
            }

            _blocks.Reset();
            _state = State.PassThrough;
            Copy(reader.UnreadSequence, output);
            reader.AdvanceToEnd();
        }

        return reader.Position;
    }

    private bool TryProcessPreface(ref SequenceReader<byte> reader, IBufferWriter<byte> output)
    {
        var preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8;
        Span<byte> received = stackalloc byte[preface.Length];
        var available = (int)Math.Min(reader.Remaining, preface.Length);
        reader.TryCopyTo(received[..available]);
        if (!received[..available].SequenceEqual(preface[..available]))
        {
            _state = State.PassThrough; // not HTTP/2 with prior knowledge
            return true;
        }

        if (available < preface.Length)
        {
            return false;
        }

        output.Write(preface);
        reader.Advance(preface.Length);
        _state = State.FrameHeader;
        return true;
    }

    /// <summary>Copies the rest of a frame that is not a header frame, as it arrives.</summary>
    private bool TryForward(ref SequenceReader<byte> reader, IBufferWriter<byte> output)
    {
        if (reader.End)
        {
            return false;
        }

        var count = (int)Math.Min(reader.Remaining, _forwardRemaining);
        Copy(reader.UnreadSequence.Slice(0, count), output);
        reader.Advance(count);
        _forwardRemaining -= count;
        if (_forwardRemaining == 0)
        {
            _state = State.FrameHeader;
        }

        return true;
    }

    private bool TryProcessFrame(in ReadOnlySequence<byte> input, ref SequenceReader<byte> reader, IBufferWriter<byte> output)
    {
        if (!FrameHeader.TryPeek(ref reader, out var header))
        {
            return false;
        }

        // An interrupted block or a stray CONTINUATION is a PROTOCOL_ERROR, a frame longer than the
        // server allows a FRAME_SIZE_ERROR: the server says so, given the bytes as they were.
        if (_blocks.IsOutOfSequence(header) || header.Length > _options.MaxInboundFrameSize)
        {
            StopInspecting(output);
            return true;
        }

        if (!header.CarriesHeaderBlock)
        {
            // Header included: forwarded as received, reserved bit and all.
            _forwardRemaining = header.FrameLength;
            _state = State.Forwarding;
            return true;
        }

        if (_blocks.Buffered.Length + header.FrameLength > _options.MaxHeaderBlockSize)
        {
            StopInspecting(output);
            return true;
        }

        if (reader.Remaining < header.FrameLength)
        {
            return false;
        }

        switch (_blocks.Add(input.Slice(reader.Position, header.FrameLength), header, out var block))
        {
            case HeaderBlockStatus.Malformed:
                StopInspecting(output); // bad padding or priority: PROTOCOL_ERROR / FRAME_SIZE_ERROR
                return true;
            case HeaderBlockStatus.Complete:
                Forward(block, output);
                _blocks.Reset();
                break;
        }

        reader.Advance(header.FrameLength);
        return true;
    }

    private void Forward(HeaderBlock block, IBufferWriter<byte> output)
    {
        switch (_rewriter.Rewrite(block.Fragment, out var encoded))
        {
            case HeaderBlockOutcome.Unchanged:
                output.Write(block.Frames);
                break;
            case HeaderBlockOutcome.Reencoded:
                _writer.Write(block, encoded, output);
                break;
            default:
                WriteAsIs(block.StreamId, block.Frames, output);
                _state = State.PassThrough;
                break;
        }
    }

    /// <summary>Ends inspection; the current frame and everything after it pass unchanged.</summary>
    private void StopInspecting(IBufferWriter<byte> output)
    {
        if (_blocks.IsPending)
        {
            WriteAsIs(_blocks.StreamId, _blocks.Buffered, output);
        }

        _blocks.Reset();
        _state = State.PassThrough;
    }

    /// <summary>
    /// Hands a block inspection gives up on to the server: as received, unless re-encoding has left
    /// the server's table behind, where only a block that fails for sure is safe.
    /// </summary>
    private void WriteAsIs(int streamId, ReadOnlySpan<byte> frames, IBufferWriter<byte> output)
    {
        if (IsReencoding)
        {
            HeaderFrameWriter.WriteUndecodable(streamId, output);
        }
        else
        {
            output.Write(frames);
        }
    }

    private static void Copy(in ReadOnlySequence<byte> source, IBufferWriter<byte> output)
    {
        foreach (var segment in source)
        {
            output.Write(segment.Span);
        }
    }
}
