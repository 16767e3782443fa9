using System.Buffers;
using Containerd.Http2.Frames;

namespace Containerd.UnitTests.Http2;

/// <summary>The frame seams alone: assembling a header block from frames, and framing a new one.</summary>
public sealed class HeaderFramingTests
{
    private static readonly byte[] Priority = [0, 0, 0, 1, 16];

    private static HeaderBlockStatus Add(HeaderBlockAssembler assembler, byte[] frame, bool segmented, out HeaderBlock block)
    {
        var sequence = segmented ? RewriterHarness.Segmented(frame, new Random(frame.Length)) : new ReadOnlySequence<byte>(frame);
        var reader = new SequenceReader<byte>(sequence);
        Assert.That(FrameHeader.TryPeek(ref reader, out var header), Is.True);
        Assert.That(assembler.IsOutOfSequence(header), Is.False);
        return assembler.Add(sequence, header, out block);
    }

    private static FrameHeader HeaderOf(byte[] frame)
    {
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(frame));
        Assert.That(FrameHeader.TryPeek(ref reader, out var header), Is.True);
        return header;
    }

    [Test]
    public void HeadersAndContinuationsMakeOneBlock([Values] bool segmented)
    {
        var headers = TestFrames.HeadersFrame(3, [1, 2, 3], endStream: true, endHeaders: false, padLength: 4, priority: Priority);
        var middle = TestFrames.ContinuationFrame(3, [4, 5], endHeaders: false);
        var last = TestFrames.ContinuationFrame(3, [6], endHeaders: true);
        var assembler = new HeaderBlockAssembler();

        Assert.That(Add(assembler, headers, segmented, out _), Is.EqualTo(HeaderBlockStatus.Incomplete));
        Assert.That(Add(assembler, middle, segmented, out _), Is.EqualTo(HeaderBlockStatus.Incomplete));
        Assert.That(assembler.IsPending, Is.True);
        Assert.That(Add(assembler, last, segmented, out var block), Is.EqualTo(HeaderBlockStatus.Complete));

        Assert.That(block.Fragment.ToArray(), Is.EqualTo(new byte[] { 1, 2, 3, 4, 5, 6 }), "padding and priority stripped");
        Assert.That(block.Frames.ToArray(), Is.EqualTo(TestFrames.Concat(headers, middle, last)), "the frames as received");
        Assert.That(block.Priority.ToArray(), Is.EqualTo(Priority));
        Assert.That(block.StreamId, Is.EqualTo(3));
        Assert.That(block.Flags, Is.EqualTo(TestFrames.EndStream | TestFrames.Padded | TestFrames.PriorityFlag));
        assembler.Reset();
        Assert.That(assembler.IsPending, Is.False);
    }

    [Test]
    public void OnlyContinuationsOfTheSameStreamMayFollowAnOpenBlock()
    {
        var assembler = new HeaderBlockAssembler();
        Assert.That(assembler.IsOutOfSequence(HeaderOf(TestFrames.ContinuationFrame(1, [0x82], endHeaders: true))), Is.True, "CONTINUATION without HEADERS");
        Assert.That(Add(assembler, TestFrames.HeadersFrame(1, [0x82], endHeaders: false), segmented: false, out _), Is.EqualTo(HeaderBlockStatus.Incomplete));

        Assert.That(assembler.IsOutOfSequence(HeaderOf(TestFrames.ContinuationFrame(1, [0x84], endHeaders: true))), Is.False);
        Assert.That(assembler.IsOutOfSequence(HeaderOf(TestFrames.ContinuationFrame(3, [0x84], endHeaders: true))), Is.True, "another stream");
        Assert.That(assembler.IsOutOfSequence(HeaderOf(TestFrames.PingFrame())), Is.True, "a frame inside the block");
    }

    [Test]
    public void PaddingLongerThanThePayloadIsMalformed()
    {
        var assembler = new HeaderBlockAssembler();
        var frame = TestFrames.Frame(TestFrames.Headers, TestFrames.EndHeaders | TestFrames.Padded, 1, [5, 0x82]);
        Assert.That(Add(assembler, frame, segmented: false, out _), Is.EqualTo(HeaderBlockStatus.Malformed));
        Assert.That(assembler.IsPending, Is.False);
    }

    [Test]
    public void ALongBlockIsSplitIntoContinuationsKeepingStreamEndAndPriority()
    {
        var fieldBlock = Enumerable.Range(0, 40).Select(i => (byte)i).ToArray();
        var original = new HeaderBlock(5, TestFrames.EndStream | TestFrames.Padded | TestFrames.PriorityFlag, Priority, [], []);
        var output = new ArrayBufferWriter<byte>();
        new HeaderFrameWriter(maxFrameSize: 16).Write(original, fieldBlock, output);

        var frames = TestFrames.Parse(output.WrittenSpan.ToArray(), preface: false);
        Assert.That(frames.Select(f => (f.Type, f.Flags, f.StreamId, f.Payload.Length)), Is.EqualTo(new[]
        {
            (TestFrames.Headers, (byte)(TestFrames.EndStream | TestFrames.PriorityFlag), 5, 16), // padding dropped
            (TestFrames.Continuation, (byte)0, 5, 16),
            (TestFrames.Continuation, TestFrames.EndHeaders, 5, 13),
        }));
        var block = TestFrames.HeaderBlocks(frames).Single();
        Assert.That(block.Fragment, Is.EqualTo(fieldBlock));
        Assert.That(block.Priority, Is.EqualTo(Priority));
    }

    [Test]
    public void AShortBlockFitsOneHeadersFrame()
    {
        var original = new HeaderBlock(7, TestFrames.EndHeaders, [], [], []);
        var output = new ArrayBufferWriter<byte>();
        new HeaderFrameWriter(maxFrameSize: 16384).Write(original, [0x82, 0x86], output);
        Assert.That(output.WrittenSpan.ToArray(), Is.EqualTo(TestFrames.HeadersFrame(7, [0x82, 0x86], endStream: false)));
    }
}
