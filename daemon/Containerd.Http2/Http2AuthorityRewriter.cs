using System.Buffers;
using Containerd.Http2.Hpack;
using System.Buffers.Binary;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Containerd.Http2;

/// <summary>
/// Rewrites the client-to-server byte stream of one HTTP/2 connection so that every request
/// <c>:authority</c> Kestrel would reject (a unix socket path, an empty value, ...) becomes
/// <c>localhost</c>, keeping HPACK state consistent between the client and the server.
/// </summary>
/// <remarks>
/// <para>
/// Only HEADERS and CONTINUATION frames are inspected; every other frame passes byte for byte.
/// A header block is reassembled, decoded with a decoder that mirrors the client's encoder, and
/// forwarded with its original bytes while every :authority is valid, so the server's decoder
/// stays identical to the client's encoder. The first block that needs a rewrite switches the
/// connection into re-encode mode for good: from then on each block that refers to the dynamic
/// table (or needs a rewrite) is re-encoded with static indexes and literals only, which decode
/// the same whatever the server's dynamic table holds; blocks without dynamic references still
/// pass unchanged, as their meaning does not depend on that table either.
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
    private const int FrameHeaderLength = 9;
    private const int PriorityLength = 5;
    private const byte TypeHeaders = 0x1;
    private const byte TypeContinuation = 0x9;
    private const byte FlagEndStream = 0x1;
    private const byte FlagEndHeaders = 0x4;
    private const byte FlagPadded = 0x8;
    private const byte FlagPriority = 0x20;

    private static readonly Action<ILogger, string, string, string, Exception?> LogRewriteStarted =
        LoggerMessage.Define<string, string, string>(
            LogLevel.Debug,
            new EventId(1, "Http2AuthorityRewriteStarted"),
            "Connection {ConnectionId}: HTTP/2 client sent :authority \"{Authority}\", which Kestrel rejects; " +
            "rewriting invalid authorities to \"{Replacement}\" and re-encoding header blocks for the rest of the connection");

    private readonly Http2AuthorityRewriterOptions _options;
    private readonly byte[] _replacement;
    private readonly ILogger? _logger;
    private readonly string _connectionId;
    private readonly HpackDecoder _decoder;
    private readonly HpackHeaderList _headers = new();
    private readonly byte[] _priority = new byte[PriorityLength];

    private State _state = State.Preface;
    private int _payloadRemaining;

    // The header block being reassembled: its frames as received, and its fragment.
    private bool _blockPending;
    private int _blockStreamId;
    private byte _blockFlags;
    private byte[] _raw = [];
    private int _rawLength;
    private byte[] _fragment = [];
    private int _fragmentLength;
    private byte[] _encoded = [];

    public Http2AuthorityRewriter(Http2AuthorityRewriterOptions? options = null, ILogger? logger = null, string? connectionId = null)
    {
        _options = options ?? new Http2AuthorityRewriterOptions();
        if (_options.MaxOutboundFrameSize < 16 || _options.MaxInboundFrameSize < 1 || _options.HeaderTableSize < 0)
        {
            throw new ArgumentException("Invalid HTTP/2 frame or table size.", nameof(options));
        }

        _replacement = Encoding.ASCII.GetBytes(_options.ReplacementAuthority);
        if (!Http2Authority.IsValid(_replacement))
        {
            throw new ArgumentException($"Replacement authority '{_options.ReplacementAuthority}' is not a valid host.", nameof(options));
        }

        _logger = logger;
        _connectionId = connectionId ?? "-";
        _decoder = new HpackDecoder(_options.HeaderTableSize);
    }

    private enum State
    {
        Preface,
        FrameHeader,
        FramePayload,
        PassThrough,
    }

    /// <summary>True once the connection has switched to re-encoding header blocks.</summary>
    public bool IsReencoding { get; private set; }

    /// <summary>False once inspection has stopped (not HTTP/2, malformed input): all bytes pass unchanged.</summary>
    public bool IsInspecting => _state != State.PassThrough;

    /// <summary>Number of :authority values replaced so far.</summary>
    public long RewrittenAuthorities { get; private set; }

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
                case State.FramePayload:
                    progressed = TryCopyPayload(ref reader, output);
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

        if (endOfInput && (_blockPending || !reader.End))
        {
            // The stream ended inside a frame: hand over what was held back, as it was.
            if (_blockPending && !IsReencoding)
            {
                output.Write(_raw.AsSpan(0, _rawLength));
            }

            ResetBlock();
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

    private bool TryCopyPayload(ref SequenceReader<byte> reader, IBufferWriter<byte> output)
    {
        if (reader.End)
        {
            return false;
        }

        var count = (int)Math.Min(reader.Remaining, _payloadRemaining);
        Copy(reader.UnreadSequence.Slice(0, count), output);
        reader.Advance(count);
        _payloadRemaining -= count;
        if (_payloadRemaining == 0)
        {
            _state = State.FrameHeader;
        }

        return true;
    }

    private bool TryProcessFrame(in ReadOnlySequence<byte> input, ref SequenceReader<byte> reader, IBufferWriter<byte> output)
    {
        Span<byte> header = stackalloc byte[FrameHeaderLength];
        if (!reader.TryCopyTo(header))
        {
            return false;
        }

        var length = (header[0] << 16) | (header[1] << 8) | header[2];
        var type = header[3];
        var flags = header[4];
        var streamId = (int)(BinaryPrimitives.ReadUInt32BigEndian(header[5..]) & 0x7FFFFFFF);

        if (_blockPending && (type != TypeContinuation || streamId != _blockStreamId))
        {
            StopInspecting(output); // a header block interrupted: PROTOCOL_ERROR
            return true;
        }

        if (length > _options.MaxInboundFrameSize)
        {
            StopInspecting(output); // FRAME_SIZE_ERROR
            return true;
        }

        if (type != TypeHeaders && type != TypeContinuation)
        {
            output.Write(header);
            reader.Advance(FrameHeaderLength);
            _payloadRemaining = length;
            _state = length > 0 ? State.FramePayload : State.FrameHeader;
            return true;
        }

        if (type == TypeContinuation && !_blockPending)
        {
            StopInspecting(output); // CONTINUATION without HEADERS: PROTOCOL_ERROR
            return true;
        }

        if (_rawLength + FrameHeaderLength + length > _options.MaxHeaderBlockSize)
        {
            StopInspecting(output);
            return true;
        }

        if (reader.Remaining < FrameHeaderLength + length)
        {
            return false;
        }

        var frame = input.Slice(reader.Position, FrameHeaderLength + length);
        if (type == TypeHeaders)
        {
            if (!TryAcceptHeadersFrame(frame, flags, streamId, output))
            {
                StopInspecting(output); // bad padding or priority: PROTOCOL_ERROR / FRAME_SIZE_ERROR
                return true;
            }
        }
        else
        {
            AcceptContinuationFrame(frame, flags, output);
        }

        reader.Advance(FrameHeaderLength + length);
        return true;
    }

    private bool TryAcceptHeadersFrame(in ReadOnlySequence<byte> frame, byte flags, int streamId, IBufferWriter<byte> output)
    {
        var endHeaders = (flags & FlagEndHeaders) != 0;
        ReadOnlySpan<byte> raw;
        if (endHeaders && frame.IsSingleSegment)
        {
            raw = frame.FirstSpan; // the common case: no copy
        }
        else
        {
            AppendRaw(frame);
            raw = _raw.AsSpan(0, _rawLength);
        }

        var payloadLength = raw.Length - FrameHeaderLength;
        var offset = FrameHeaderLength;
        var padLength = 0;
        if ((flags & FlagPadded) != 0)
        {
            // Kestrel rejects padding that leaves no room for anything else.
            if (payloadLength < 1 || raw[offset] >= payloadLength - 1)
            {
                ResetBlock();
                return false;
            }

            padLength = raw[offset++];
        }

        if ((flags & FlagPriority) != 0)
        {
            if (raw.Length - offset - padLength < PriorityLength)
            {
                ResetBlock();
                return false;
            }

            raw.Slice(offset, PriorityLength).CopyTo(_priority);
            offset += PriorityLength;
        }

        var fragment = raw[offset..^padLength];
        _blockStreamId = streamId;
        _blockFlags = flags;
        if (endHeaders)
        {
            ProcessBlock(raw, fragment, output);
            ResetBlock();
        }
        else
        {
            _blockPending = true;
            AppendFragment(fragment);
        }

        return true;
    }

    private void AcceptContinuationFrame(in ReadOnlySequence<byte> frame, byte flags, IBufferWriter<byte> output)
    {
        AppendRaw(frame);
        AppendFragment(_raw.AsSpan(_rawLength - (int)frame.Length + FrameHeaderLength, (int)frame.Length - FrameHeaderLength));
        if ((flags & FlagEndHeaders) != 0)
        {
            ProcessBlock(_raw.AsSpan(0, _rawLength), _fragment.AsSpan(0, _fragmentLength), output);
            ResetBlock();
        }
    }

    private void ProcessBlock(ReadOnlySpan<byte> raw, ReadOnlySpan<byte> fragment, IBufferWriter<byte> output)
    {
        bool decoded;
        try
        {
            decoded = _decoder.TryDecode(fragment, _headers);
        }
        catch (Exception)
        {
            decoded = false; // defensive: treat a decoder fault like undecodable input
        }

        if (!decoded)
        {
            if (IsReencoding)
            {
                WriteUndecodableBlock(output);
            }
            else
            {
                output.Write(raw);
            }

            _state = State.PassThrough;
            return;
        }

        var firstInvalid = -1;
        for (var i = 0; i < _headers.Count; i++)
        {
            if (_headers.GetName(i).SequenceEqual(":authority"u8) && !Http2Authority.IsValid(_headers.GetValue(i)))
            {
                firstInvalid = i;
                break;
            }
        }

        if (firstInvalid < 0 && (!IsReencoding || !_headers.ReferencesDynamicTable))
        {
            output.Write(raw);
            return;
        }

        if (!IsReencoding)
        {
            IsReencoding = true;
            if (_logger is not null && _logger.IsEnabled(LogLevel.Debug))
            {
                LogRewriteStarted(_logger, _connectionId, Printable(_headers.GetValue(firstInvalid)), _options.ReplacementAuthority, null);
            }
        }

        if (firstInvalid >= 0)
        {
            for (var i = firstInvalid; i < _headers.Count; i++)
            {
                if (_headers.GetName(i).SequenceEqual(":authority"u8) && !Http2Authority.IsValid(_headers.GetValue(i)))
                {
                    _headers.SetValue(i, _replacement);
                    RewrittenAuthorities++;
                }
            }
        }

        var maxLength = HpackLiteralEncoder.GetMaxEncodedLength(_headers);
        if (_encoded.Length < maxLength)
        {
            _encoded = new byte[Math.Max(maxLength, 2 * _encoded.Length)];
        }

        var length = HpackLiteralEncoder.Encode(_headers, _encoded);
        WriteHeaderFrames(_encoded.AsSpan(0, length), output);
    }

    private void WriteHeaderFrames(ReadOnlySpan<byte> block, IBufferWriter<byte> output)
    {
        var maxPayload = _options.MaxOutboundFrameSize;
        var hasPriority = (_blockFlags & FlagPriority) != 0;
        var firstLength = Math.Min(block.Length, maxPayload - (hasPriority ? PriorityLength : 0));
        var flags = (byte)(_blockFlags & (FlagEndStream | FlagPriority));
        if (firstLength == block.Length)
        {
            flags |= FlagEndHeaders;
        }

        WriteFrameHeader(output, firstLength + (hasPriority ? PriorityLength : 0), TypeHeaders, flags, _blockStreamId);
        if (hasPriority)
        {
            output.Write(_priority);
        }

        output.Write(block[..firstLength]);
        block = block[firstLength..];
        while (!block.IsEmpty)
        {
            var length = Math.Min(block.Length, maxPayload);
            WriteFrameHeader(output, length, TypeContinuation, length == block.Length ? FlagEndHeaders : (byte)0, _blockStreamId);
            output.Write(block[..length]);
            block = block[length..];
        }
    }

    /// <summary>
    /// A HEADERS frame whose block has a table size update after a field: every HPACK decoder rejects it,
    /// Kestrel with COMPRESSION_ERROR, which ends the connection.
    /// </summary>
    private void WriteUndecodableBlock(IBufferWriter<byte> output)
    {
        WriteFrameHeader(output, 2, TypeHeaders, FlagEndStream | FlagEndHeaders, _blockStreamId);
        ReadOnlySpan<byte> block = [0x82, 0x20]; // ":method: GET", then "table size update to 0"
        output.Write(block);
    }

    /// <summary>Ends inspection; the current frame and everything after it pass unchanged.</summary>
    private void StopInspecting(IBufferWriter<byte> output)
    {
        if (_blockPending)
        {
            if (IsReencoding)
            {
                WriteUndecodableBlock(output);
            }
            else
            {
                output.Write(_raw.AsSpan(0, _rawLength));
            }
        }

        ResetBlock();
        _state = State.PassThrough;
    }

    private void ResetBlock()
    {
        _blockPending = false;
        _rawLength = 0;
        _fragmentLength = 0;
    }

    private void AppendRaw(in ReadOnlySequence<byte> frame)
    {
        var length = (int)frame.Length;
        EnsureCapacity(ref _raw, _rawLength + length);
        frame.CopyTo(_raw.AsSpan(_rawLength));
        _rawLength += length;
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

    private static void WriteFrameHeader(IBufferWriter<byte> output, int length, byte type, byte flags, int streamId)
    {
        Span<byte> header = stackalloc byte[FrameHeaderLength];
        header[0] = (byte)(length >> 16);
        header[1] = (byte)(length >> 8);
        header[2] = (byte)length;
        header[3] = type;
        header[4] = flags;
        BinaryPrimitives.WriteInt32BigEndian(header[5..], streamId);
        output.Write(header);
    }

    private static void Copy(in ReadOnlySequence<byte> source, IBufferWriter<byte> output)
    {
        foreach (var segment in source)
        {
            output.Write(segment.Span);
        }
    }

    private static string Printable(ReadOnlySpan<byte> value)
    {
        const int MaxLength = 256;
        var builder = new StringBuilder(Math.Min(value.Length, MaxLength) + 8);
        foreach (var b in value[..Math.Min(value.Length, MaxLength)])
        {
            if (b is >= 0x20 and < 0x7F)
            {
                builder.Append((char)b);
            }
            else
            {
                builder.Append("\\x").Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        if (value.Length > MaxLength)
        {
            builder.Append("...");
        }

        return builder.ToString();
    }
}
