using System.Buffers;
using Containerd.Http2;

namespace Containerd.UnitTests.Http2;

/// <summary>
/// Feeds bytes through an <see cref="Http2AuthorityRewriter"/> the way the transport pump does:
/// in chunks, re-offering what was not consumed, with buffers split into many segments.
/// </summary>
public static class RewriterHarness
{
    public enum Chunking
    {
        Whole,
        ByteByByte,
        Random,
    }

    public static readonly Chunking[] AllChunkings = [Chunking.Whole, Chunking.ByteByByte, Chunking.Random];

    internal static byte[] Run(byte[] input, Chunking chunking, Http2AuthorityRewriter? rewriter = null, int seed = 1, bool endOfInput = true)
    {
        rewriter ??= new Http2AuthorityRewriter();
        var random = new Random(seed);
        var output = new ArrayBufferWriter<byte>();
        var pending = new List<byte>();
        var offset = 0;
        while (offset < input.Length || pending.Count > 0 || input.Length == 0)
        {
            var chunk = chunking switch
            {
                Chunking.Whole => input.Length - offset,
                Chunking.ByteByByte => Math.Min(1, input.Length - offset),
                _ => Math.Min(random.Next(1, 64), input.Length - offset),
            };
            pending.AddRange(input.AsSpan(offset, chunk));
            offset += chunk;
            var last = offset == input.Length;

            var sequence = chunking == Chunking.Whole ? new ReadOnlySequence<byte>(pending.ToArray()) : Segmented(pending.ToArray(), random);
            var consumed = rewriter.Process(sequence, output, last && endOfInput);
            var consumedLength = (int)sequence.Slice(0, consumed).Length;
            pending.RemoveRange(0, consumedLength);
            if (last)
            {
                if (endOfInput)
                {
                    Assert.That(pending, Is.Empty, "everything is consumed at the end of the input");
                }

                break;
            }
        }

        return output.WrittenSpan.ToArray();
    }

    /// <summary>A sequence of randomly sized segments (1 to 16 bytes).</summary>
    internal static ReadOnlySequence<byte> Segmented(byte[] bytes, Random random)
    {
        if (bytes.Length == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        Segment? first = null;
        Segment? last = null;
        var offset = 0;
        while (offset < bytes.Length)
        {
            var length = Math.Min(random.Next(1, 17), bytes.Length - offset);
            var segment = new Segment(bytes.AsMemory(offset, length), offset);
            if (last is null)
            {
                first = segment;
            }
            else
            {
                last.SetNext(segment);
            }

            last = segment;
            offset += length;
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public void SetNext(Segment next) => Next = next;
    }
}
