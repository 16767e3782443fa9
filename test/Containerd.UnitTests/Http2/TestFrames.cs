using System.Buffers.Binary;

namespace Containerd.UnitTests.Http2;

/// <summary>Builds and parses raw HTTP/2 frames for tests.</summary>
internal static class TestFrames
{
    public const byte Data = 0x0;
    public const byte Headers = 0x1;
    public const byte Priority = 0x2;
    public const byte RstStream = 0x3;
    public const byte Settings = 0x4;
    public const byte Ping = 0x6;
    public const byte GoAway = 0x7;
    public const byte WindowUpdate = 0x8;
    public const byte Continuation = 0x9;

    public const byte EndStream = 0x1;
    public const byte Ack = 0x1;
    public const byte EndHeaders = 0x4;
    public const byte Padded = 0x8;
    public const byte PriorityFlag = 0x20;

    public static byte[] Preface => "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();

    public static byte[] Frame(byte type, byte flags, int streamId, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[9 + payload.Length];
        frame[0] = (byte)(payload.Length >> 16);
        frame[1] = (byte)(payload.Length >> 8);
        frame[2] = (byte)payload.Length;
        frame[3] = type;
        frame[4] = flags;
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(5), streamId);
        payload.CopyTo(frame.AsSpan(9));
        return frame;
    }

    /// <summary>A HEADERS frame; <paramref name="priority"/> is the 5 raw priority bytes.</summary>
    public static byte[] HeadersFrame(int streamId, byte[] fragment, bool endStream = true, bool endHeaders = true, int padLength = -1, byte[]? priority = null)
    {
        var payload = new List<byte>();
        byte flags = 0;
        if (endStream)
        {
            flags |= EndStream;
        }

        if (endHeaders)
        {
            flags |= EndHeaders;
        }

        if (padLength >= 0)
        {
            flags |= Padded;
            payload.Add((byte)padLength);
        }

        if (priority is not null)
        {
            flags |= PriorityFlag;
            payload.AddRange(priority);
        }

        payload.AddRange(fragment);
        for (var i = 0; i < padLength; i++)
        {
            payload.Add(0);
        }

        return Frame(Headers, flags, streamId, payload.ToArray());
    }

    public static byte[] ContinuationFrame(int streamId, byte[] fragment, bool endHeaders) =>
        Frame(Continuation, endHeaders ? EndHeaders : (byte)0, streamId, fragment);

    public static byte[] SettingsFrame() => Frame(Settings, 0, 0, []);

    public static byte[] SettingsAck() => Frame(Settings, Ack, 0, []);

    public static byte[] DataFrame(int streamId, byte[] data, bool endStream) => Frame(Data, endStream ? EndStream : (byte)0, streamId, data);

    public static byte[] WindowUpdateFrame(int streamId, int increment)
    {
        var payload = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(payload, increment);
        return Frame(WindowUpdate, 0, streamId, payload);
    }

    public static byte[] PingFrame() => Frame(Ping, 0, 0, [1, 2, 3, 4, 5, 6, 7, 8]);

    public static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    /// <summary>Parses frames; a leading preface is skipped when <paramref name="preface"/> is set.</summary>
    public static List<ParsedFrame> Parse(byte[] bytes, bool preface = true)
    {
        var position = 0;
        if (preface)
        {
            Assert.That(bytes.AsSpan(0, 24).SequenceEqual(Preface), Is.True, "preface");
            position = 24;
        }

        var frames = new List<ParsedFrame>();
        while (position < bytes.Length)
        {
            Assert.That(bytes.Length - position, Is.GreaterThanOrEqualTo(9), "truncated frame header");
            var length = (bytes[position] << 16) | (bytes[position + 1] << 8) | bytes[position + 2];
            Assert.That(bytes.Length - position - 9, Is.GreaterThanOrEqualTo(length), "truncated frame");
            var streamId = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(position + 5)) & 0x7FFFFFFF;
            frames.Add(new ParsedFrame(bytes[position + 3], bytes[position + 4], streamId, bytes.AsSpan(position + 9, length).ToArray()));
            position += 9 + length;
        }

        return frames;
    }

    /// <summary>Groups HEADERS + CONTINUATION frames into header blocks, stripping padding and priority.</summary>
    public static List<HeaderBlock> HeaderBlocks(List<ParsedFrame> frames)
    {
        var blocks = new List<HeaderBlock>();
        HeaderBlock? current = null;
        foreach (var frame in frames)
        {
            if (frame.Type == Headers)
            {
                Assert.That(current, Is.Null, "HEADERS inside a header block");
                var payload = frame.Payload;
                var offset = 0;
                var pad = 0;
                if ((frame.Flags & Padded) != 0)
                {
                    pad = payload[0];
                    offset = 1;
                }

                byte[]? priority = null;
                if ((frame.Flags & PriorityFlag) != 0)
                {
                    priority = payload.AsSpan(offset, 5).ToArray();
                    offset += 5;
                }

                current = new HeaderBlock(frame.StreamId, frame.Flags, priority, [.. payload.AsSpan(offset, payload.Length - offset - pad)]);
            }
            else if (frame.Type == Continuation)
            {
                Assert.That(current, Is.Not.Null, "CONTINUATION without HEADERS");
                Assert.That(frame.StreamId, Is.EqualTo(current!.StreamId));
                current.Fragment.AddRange(frame.Payload);
            }
            else
            {
                Assert.That(current, Is.Null, "frame inside a header block");
                continue;
            }

            if ((frame.Flags & EndHeaders) != 0)
            {
                blocks.Add(current!);
                current = null;
            }
        }

        Assert.That(current, Is.Null, "unterminated header block");
        return blocks;
    }

    internal sealed record ParsedFrame(byte Type, byte Flags, int StreamId, byte[] Payload);

    internal sealed record HeaderBlock(int StreamId, byte Flags, byte[]? Priority, List<byte> Fragment)
    {
        public bool EndStream => (Flags & TestFrames.EndStream) != 0;
    }
}
