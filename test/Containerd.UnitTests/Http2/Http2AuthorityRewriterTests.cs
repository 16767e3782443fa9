using Containerd.Http2;
using Microsoft.Extensions.Logging;
using static Containerd.UnitTests.Http2.TestFrames;
using Chunking = Containerd.UnitTests.Http2.RewriterHarness.Chunking;

namespace Containerd.UnitTests.Http2;

public sealed class Http2AuthorityRewriterTests
{
    private const string SocketPath = "/run/containerd/containerd.sock";
    private const string VersionPath = "/containerd.services.version.v1.Version/Version";

    private static readonly (string, string)[] Prefix = [(":method", "POST"), (":scheme", "http"), (":path", VersionPath)];

    /// <summary>:method POST, :scheme http, :path; table size updates, if any, come first.</summary>
    private static TestHpackBlock Request(params int[] sizeUpdates)
    {
        var block = new TestHpackBlock();
        foreach (var size in sizeUpdates)
        {
            block.SizeUpdate(size);
        }

        return block.Indexed(3).Indexed(6).WithoutIndexing(4, VersionPath, huffman: true);
    }

    private static (string, string)[] Fields(params (string, string)[] rest) => [.. Prefix, .. rest];

    /// <summary>What the server decodes from the rewritten stream: its header lists, in order.</summary>
    private static List<List<(string Name, string Value)>> ServerView(byte[] output, out ReferenceHpackDecoder decoder, Action<HeaderBlock, ReferenceHpackDecoder>? check = null)
    {
        var server = new ReferenceHpackDecoder();
        decoder = server;
        var frames = Parse(output);
        foreach (var frame in frames.Where(f => f.Type is Headers or Continuation))
        {
            Assert.That(frame.Payload, Has.Length.LessThanOrEqualTo(16384), "frame size");
        }

        return HeaderBlocks(frames).Select(block =>
        {
            var fields = server.Decode([.. block.Fragment]);
            check?.Invoke(block, server);
            return fields;
        }).ToList();
    }

    private static List<ParsedFrame> OtherFrames(byte[] bytes) => Parse(bytes).Where(f => f.Type is not Headers and not Continuation).ToList();

    private static void AssertOtherFramesUnchanged(byte[] input, byte[] output)
    {
        var expected = OtherFrames(input);
        var actual = OtherFrames(output);
        Assert.That(actual, Has.Count.EqualTo(expected.Count));
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.That(actual[i].Type, Is.EqualTo(expected[i].Type));
            Assert.That(actual[i].Flags, Is.EqualTo(expected[i].Flags));
            Assert.That(actual[i].StreamId, Is.EqualTo(expected[i].StreamId));
            Assert.That(actual[i].Payload, Is.EqualTo(expected[i].Payload));
        }
    }

    /// <summary>Blocks re-encoded by the rewriter must not touch the server's dynamic table.</summary>
    private static void NoDynamicTableUse(HeaderBlock block, ReferenceHpackDecoder server)
    {
        Assert.That(server.DynamicReferences, Is.Zero, "re-encoded block refers to the dynamic table");
        Assert.That(server.TableChanges, Is.Zero, "re-encoded block changes the dynamic table");
    }

    [Test]
    public void ValidAuthorityPassesByteIdentical([ValueSource(typeof(RewriterHarness), nameof(RewriterHarness.AllChunkings))] Chunking chunking)
    {
        var input = Concat(
            Preface,
            SettingsFrame(),
            WindowUpdateFrame(0, 1 << 20),
            HeadersFrame(1, Request().Incremental(1, "localhost", huffman: true).Incremental("content-type", "application/grpc", huffman: true)
                .Incremental(58, "grpc-go/1.33.2").NeverIndexed("authorization", "Bearer x").ToArray(), endStream: false),
            DataFrame(1, [0, 0, 0, 0, 5, 1, 2, 3, 4, 5], endStream: true),
            PingFrame(),
            HeadersFrame(3, Request().Indexed(64).Indexed(63).Indexed(62).ToArray(), endStream: false, padLength: 3),
            DataFrame(3, new byte[16384], endStream: false),
            Frame(0xFA, 0xFF, 0, [1, 2, 3]), // unknown frame type
            HeadersFrame(5, Request().WithoutIndexing(1, "127.0.0.1:10010").ToArray(), priority: [0, 0, 0, 1, 16]),
            SettingsAck(),
            DataFrame(3, [], endStream: true));
        var rewriter = new Http2AuthorityRewriter();
        var output = RewriterHarness.Run(input, chunking, rewriter);
        Assert.That(output, Is.EqualTo(input));
        Assert.That(rewriter.IsReencoding, Is.False);
        Assert.That(rewriter.IsInspecting, Is.True);
    }

    [Test]
    public void SocketPathIsRewritten([ValueSource(typeof(RewriterHarness), nameof(RewriterHarness.AllChunkings))] Chunking chunking, [Values] bool huffman)
    {
        var input = Concat(
            Preface,
            SettingsFrame(),
            HeadersFrame(1, Request().WithoutIndexing(1, SocketPath, huffman).Incremental("te", "trailers").ToArray(), endStream: false),
            DataFrame(1, [0, 0, 0, 0, 0], endStream: true));
        var rewriter = new Http2AuthorityRewriter();
        var output = RewriterHarness.Run(input, chunking, rewriter);
        Assert.That(ServerView(output, out _, NoDynamicTableUse), Is.EqualTo(new[] { Fields((":authority", "localhost"), ("te", "trailers")) }));
        AssertOtherFramesUnchanged(input, output);
        Assert.That(rewriter.IsReencoding, Is.True);
        Assert.That(rewriter.RewrittenAuthorities, Is.EqualTo(1));

        var headers = Parse(output).Single(f => f.Type == Headers);
        Assert.That(headers.Flags, Is.EqualTo(EndHeaders), "END_STREAM stays clear");
        Assert.That(headers.StreamId, Is.EqualTo(1));
    }

    [Test]
    public void IndexedSocketPathIsRewrittenOnLaterRequests([ValueSource(typeof(RewriterHarness), nameof(RewriterHarness.AllChunkings))] Chunking chunking)
    {
        // grpc-go: the authority is inserted (Huffman, incremental indexing), then sent as index 62.
        var input = Concat(
            Preface,
            SettingsFrame(),
            HeadersFrame(1, Request().Incremental(1, "/tmp/x.sock", huffman: true).Incremental("content-type", "application/grpc", huffman: true).ToArray()),
            HeadersFrame(3, Request().Indexed(63).Indexed(62).ToArray()),
            HeadersFrame(5, Request().Indexed(63).Incremental("grpc-timeout", "99m").Indexed(63).ToArray()));
        var output = RewriterHarness.Run(input, chunking);
        var expected = Fields((":authority", "localhost"), ("content-type", "application/grpc"));
        Assert.That(ServerView(output, out var server, NoDynamicTableUse), Is.EqualTo(new[]
        {
            expected,
            Fields((":authority", "localhost"), ("content-type", "application/grpc")),
            Fields((":authority", "localhost"), ("grpc-timeout", "99m"), ("content-type", "application/grpc")),
        }));
        Assert.That(server.TableCount, Is.Zero);
    }

    [Test]
    public void HeaderBlockSplitAcrossContinuationFrames([ValueSource(typeof(RewriterHarness), nameof(RewriterHarness.AllChunkings))] Chunking chunking, [Values] bool valid)
    {
        var block = Request().Incremental(1, valid ? "localhost:1234" : SocketPath, huffman: true)
            .Incremental("user-agent", "grpc-go/1.33.2", huffman: true).Incremental("x-long", new string('z', 300)).ToArray();
        var input = Concat(
            Preface,
            SettingsFrame(),
            HeadersFrame(1, block[..10], endStream: true, endHeaders: false),
            ContinuationFrame(1, block[10..30], endHeaders: false),
            ContinuationFrame(1, [], endHeaders: false),
            ContinuationFrame(1, block[30..], endHeaders: true),
            HeadersFrame(3, Request().Indexed(64).Indexed(62).ToArray()));
        var output = RewriterHarness.Run(input, chunking);
        if (valid)
        {
            Assert.That(output, Is.EqualTo(input));
            return;
        }

        var expected = Fields((":authority", "localhost"), ("user-agent", "grpc-go/1.33.2"), ("x-long", new string('z', 300)));
        Assert.That(ServerView(output, out _, NoDynamicTableUse), Is.EqualTo(new[] { expected, Fields((":authority", "localhost"), ("x-long", new string('z', 300))) }));
        var headerFrames = Parse(output).Where(f => f.Type is Headers or Continuation).ToList();
        Assert.That(headerFrames.Select(f => f.Type), Is.EqualTo(new[] { Headers, Headers }), "small re-encoded blocks fit one frame each");
        Assert.That(headerFrames[0].Flags, Is.EqualTo(EndHeaders | EndStream));
    }

    [Test]
    public void PaddedHeadersAreRewrittenWithoutPadding([ValueSource(typeof(RewriterHarness), nameof(RewriterHarness.AllChunkings))] Chunking chunking)
    {
        var input = Concat(
            Preface,
            HeadersFrame(1, Request().WithoutIndexing(1, SocketPath).ToArray(), endStream: true, padLength: 17),
            HeadersFrame(3, Request().WithoutIndexing(1, "localhost").ToArray(), endStream: false, endHeaders: false, padLength: 200),
            ContinuationFrame(3, new TestHpackBlock().Incremental("a", "b").ToArray(), endHeaders: true));
        var output = RewriterHarness.Run(input, chunking);
        Assert.That(ServerView(output, out _), Is.EqualTo(new[] { Fields((":authority", "localhost")), Fields((":authority", "localhost"), ("a", "b")) }));
        var frames = Parse(output);
        Assert.That(frames[0].Flags, Is.EqualTo(EndHeaders | EndStream), "padding dropped");
        Assert.That(frames.Skip(1).Select(f => f.Payload).ToArray(), Is.EqualTo(Parse(input).Skip(1).Select(f => f.Payload).ToArray()),
            "a valid block with no dynamic references passes unchanged, even after the switch");
    }

    [Test]
    public void PriorityFieldsAndEndStreamAreKept([ValueSource(typeof(RewriterHarness), nameof(RewriterHarness.AllChunkings))] Chunking chunking, [Values] bool endStream, [Values] bool padded)
    {
        byte[] priority = [0x80, 0, 0, 1, 200];
        var input = Concat(
            Preface,
            HeadersFrame(3, Request().Incremental(1, "", huffman: true).ToArray(), endStream, padLength: padded ? 4 : -1, priority: priority));
        var output = RewriterHarness.Run(input, chunking);
        Assert.That(ServerView(output, out _), Is.EqualTo(new[] { Fields((":authority", "localhost")) }));
        var block = HeaderBlocks(Parse(output)).Single();
        Assert.That(block.Priority, Is.EqualTo(priority));
        Assert.That(block.Flags, Is.EqualTo(EndHeaders | PriorityFlag | (endStream ? EndStream : 0)));
    }

    [TestCase("", TestName = "Empty authority literal is rewritten")]
    [TestCase(null, TestName = "Empty authority from static index 1 is rewritten")]
    [TestCase("unix:///run/containerd/containerd.sock", TestName = "unix URL authority is rewritten")]
    [TestCase("host name", TestName = "Authority with a space is rewritten")]
    [TestCase("host\u0001", TestName = "Authority with a control byte is rewritten")]
    public void InvalidAuthoritiesAreRewritten(string? authority)
    {
        var block = Request();
        _ = authority is null ? block.Indexed(1) : block.NeverIndexed(1, authority);
        var output = RewriterHarness.Run(Concat(Preface, HeadersFrame(1, block.ToArray())), Chunking.Whole);
        Assert.That(ServerView(output, out _), Is.EqualTo(new[] { Fields((":authority", "localhost")) }));
    }

    [Test]
    public void RequestWithoutAuthorityPassesUnchanged()
    {
        var input = Concat(Preface, HeadersFrame(1, Request().Incremental("host", "/tmp/x.sock").ToArray()));
        Assert.That(RewriterHarness.Run(input, Chunking.Whole), Is.EqualTo(input));
    }

    [Test]
    public void ReencodedRequestsResolveEntriesAddedBeforeTheSwitch([ValueSource(typeof(RewriterHarness), nameof(RewriterHarness.AllChunkings))] Chunking chunking)
    {
        var ua = ("user-agent", "grpc-go/1.33.2");
        var ns = ("containerd-namespace", "default");
        var block5 = Request().Indexed(2).WithoutIndexing(1, "localhost").Incremental("x-after", "1", huffman: true).ToArray();
        var input = Concat(
            Preface,
            SettingsFrame(),
            // Valid: passes unchanged and fills both tables with [ns, ua, :authority localhost].
            HeadersFrame(1, Request().Incremental(1, "localhost").Incremental(58, ua.Item2, huffman: true).Incremental(ns.Item1, ns.Item2).ToArray()),
            // Invalid: the switch. Client table becomes [sock, ns, ua, localhost].
            HeadersFrame(3, Request().Incremental(1, SocketPath, huffman: true).Indexed(63).Indexed(64).ToArray()),
            // Client table becomes [x-new, sock, ns, ua, localhost].
            HeadersFrame(5, Request().Indexed(62).Indexed(64).Indexed(63).Incremental("x-new", "v").ToArray()),
            // Valid authority, but dynamic references: re-encoded.
            HeadersFrame(7, Request().Indexed(66).Indexed(62).ToArray()),
            // Valid and no dynamic references: passes unchanged (its insertion is harmless to the server).
            HeadersFrame(9, block5),
            HeadersFrame(11, Request().Indexed(64).Indexed(63).Indexed(65).ToArray()));
        var rewriter = new Http2AuthorityRewriter();
        var output = RewriterHarness.Run(input, chunking, rewriter);
        var view = ServerView(output, out _, (block, server) =>
        {
            if (block.StreamId is 3 or 5 or 7 or 11)
            {
                NoDynamicTableUse(block, server);
            }
        });
        Assert.That(view, Is.EqualTo(new[]
        {
            Fields((":authority", "localhost"), ua, ns),
            Fields((":authority", "localhost"), ns, ua),
            Fields((":authority", "localhost"), ua, ns, ("x-new", "v")),
            Fields((":authority", "localhost"), ("x-new", "v")),
            [.. Prefix, (":method", "GET"), (":authority", "localhost"), ("x-after", "1")],
            Fields((":authority", "localhost"), ("x-new", "v"), ns),
        }));
        Assert.That(rewriter.RewrittenAuthorities, Is.EqualTo(3));
        var blocks = HeaderBlocks(Parse(output));
        Assert.That(blocks[0].Fragment, Is.EqualTo(HeaderBlocks(Parse(input))[0].Fragment), "before the switch: unchanged");
        Assert.That(blocks[4].Fragment, Is.EqualTo(block5), "no dynamic references: unchanged");
    }

    [Test]
    public void TableSizeUpdatesAreFollowed([ValueSource(typeof(RewriterHarness), nameof(RewriterHarness.AllChunkings))] Chunking chunking)
    {
        var input = Concat(
            Preface,
            // Pass-through phase: entries [c, b, a], then a size update to 0 and back.
            HeadersFrame(1, Request().Incremental(1, "localhost").Incremental("a", "1").Incremental("b", "2").Incremental("c", "3").ToArray()),
            HeadersFrame(3, Request(0, 4096).Incremental("d", "4").Indexed(62).WithoutIndexing(1, "localhost").ToArray()),
            // Switch; table [x, d].
            HeadersFrame(5, Request().Incremental("x", new string('x', 40)).Indexed(63).WithoutIndexing(1, SocketPath).ToArray()),
            // 34 + 40 + 33 = 107 > 100: the size update evicts d and keeps x.
            HeadersFrame(7, Request(100).Indexed(62).WithoutIndexing(1, SocketPath).ToArray()),
            HeadersFrame(9, Request(4096).Incremental("e", "5").Indexed(62).Indexed(63).Indexed(1).ToArray()));
        var output = RewriterHarness.Run(input, chunking);
        Assert.That(ServerView(output, out _), Is.EqualTo(new[]
        {
            Fields((":authority", "localhost"), ("a", "1"), ("b", "2"), ("c", "3")),
            Fields(("d", "4"), ("d", "4"), (":authority", "localhost")),
            Fields(("x", new string('x', 40)), ("d", "4"), (":authority", "localhost")),
            Fields(("x", new string('x', 40)), (":authority", "localhost")),
            Fields(("e", "5"), ("e", "5"), ("x", new string('x', 40)), (":authority", "localhost")),
        }));
        Assert.That(HeaderBlocks(Parse(output))[1].Fragment, Is.EqualTo(HeaderBlocks(Parse(input))[1].Fragment));
    }

    [Test]
    public void EvictionIsFollowedAfterTheSwitch([ValueSource(typeof(RewriterHarness), nameof(RewriterHarness.AllChunkings))] Chunking chunking)
    {
        string Big(char c) => new(c, 1500);
        var input = Concat(
            Preface,
            HeadersFrame(1, Request().Incremental(1, SocketPath).Incremental("x-a", Big('a')).Incremental("x-b", Big('b')).ToArray()),
            // Table: [b, a, sock] = 1535 + 1535 + 73 > 4096 - 1535: inserting c evicts sock and a.
            HeadersFrame(3, Request().Incremental("x-c", Big('c'), huffman: true).Indexed(62).Indexed(63).ToArray()),
            // Table [c, b]; inserting /x.sock (49) fits.
            HeadersFrame(5, Request().Indexed(63).Indexed(62).Incremental(1, "/x.sock").ToArray()),
            HeadersFrame(7, Request().Indexed(62).Indexed(63).Indexed(64).ToArray()));
        var output = RewriterHarness.Run(input, chunking);
        Assert.That(ServerView(output, out _, NoDynamicTableUse), Is.EqualTo(new[]
        {
            Fields((":authority", "localhost"), ("x-a", Big('a')), ("x-b", Big('b'))),
            Fields(("x-c", Big('c')), ("x-c", Big('c')), ("x-b", Big('b'))),
            Fields(("x-b", Big('b')), ("x-c", Big('c')), (":authority", "localhost")),
            Fields((":authority", "localhost"), ("x-c", Big('c')), ("x-b", Big('b'))),
        }));
    }

    [Test]
    public void LargeReencodedBlocksAreSplitIntoContinuationFrames([ValueSource(typeof(RewriterHarness), nameof(RewriterHarness.AllChunkings))] Chunking chunking)
    {
        var big = string.Concat(Enumerable.Range(0, 400).Select(i => $"{i:X4}|{i * 7919 % 10007:D5}"))[..3900]; // about 3900 bytes
        var input = Concat(
            Preface,
            HeadersFrame(1, Request().Incremental(1, SocketPath).Incremental("x-big", big).ToArray()),
            HeadersFrame(3, Request().Indexed(63).Indexed(62).Indexed(62).Indexed(62).Indexed(62).Indexed(62).Indexed(62).ToArray(),
                endStream: true, priority: [0, 0, 0, 1, 7]),
            DataFrame(3, [1, 2, 3], endStream: false));
        var output = RewriterHarness.Run(input, chunking);
        var expected = new List<(string, string)> { (":authority", "localhost") };
        expected.AddRange(Enumerable.Repeat(("x-big", big), 6));
        Assert.That(ServerView(output, out _), Is.EqualTo(new[] { Fields((":authority", "localhost"), ("x-big", big)), Fields([.. expected]) }));

        var frames = Parse(output).Where(f => f.StreamId == 3 && f.Type != Data).ToList();
        Assert.That(frames.Select(f => f.Type), Is.EqualTo(new[] { Headers, Continuation }));
        Assert.That(frames[0].Payload, Has.Length.EqualTo(16384));
        Assert.That(frames[0].Flags, Is.EqualTo(EndStream | PriorityFlag));
        Assert.That(frames[1].Flags, Is.EqualTo(EndHeaders));
        AssertOtherFramesUnchanged(input, output);
    }

    [Test]
    public void SmallOutboundFramesSplitEveryBlock([ValueSource(typeof(RewriterHarness), nameof(RewriterHarness.AllChunkings))] Chunking chunking)
    {
        var options = new Http2AuthorityRewriterOptions { MaxOutboundFrameSize = 16 };
        var input = Concat(
            Preface,
            HeadersFrame(1, Request().Incremental(1, SocketPath, huffman: true).Incremental("x-a", "some value").ToArray(), priority: [0, 0, 0, 0, 3]),
            HeadersFrame(3, Request().Indexed(62).Indexed(63).ToArray()));
        var output = RewriterHarness.Run(input, chunking, new Http2AuthorityRewriter(options));
        Assert.That(ServerView(output, out _), Is.EqualTo(new[]
        {
            Fields((":authority", "localhost"), ("x-a", "some value")),
            Fields(("x-a", "some value"), (":authority", "localhost")),
        }));
        var frames = Parse(output);
        Assert.That(frames.All(f => f.Payload.Length <= 16), Is.True);
        Assert.That(frames.Count(f => f.Type == Continuation), Is.GreaterThan(4));
    }

    public static IEnumerable<TestCaseData> MalformedInputs()
    {
        var later = HeadersFrame(101, Request().WithoutIndexing(1, SocketPath).ToArray());
        TestCaseData Case(string name, params byte[][] frames) => new TestCaseData(Concat([.. frames, later])).SetName("Malformed: " + name);

        yield return Case("index beyond the table", Preface, HeadersFrame(1, Request().Indexed(62).ToArray()));
        yield return Case("bad Huffman string", Preface, HeadersFrame(1, Request().Raw(0x01, 0x81, 0x00).ToArray()));
        yield return Case("size update after a field", Preface, HeadersFrame(1, Request().SizeUpdate(0).ToArray()));
        yield return Case("size update in a later block after a field", Preface, HeadersFrame(1, Request(0).ToArray()), HeadersFrame(3, Request().Indexed(2).SizeUpdate(10).ToArray()));
        yield return Case("size update above the limit", Preface, HeadersFrame(1, new TestHpackBlock().SizeUpdate(4097).ToArray()));
        yield return Case("integer overflow", Preface, HeadersFrame(1, new TestHpackBlock().Raw(0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F).ToArray()));
        yield return Case("truncated block", Preface, HeadersFrame(1, Request().Raw(0x41, 0x05, 0x61).ToArray()));
        yield return Case("CONTINUATION without HEADERS", Preface, ContinuationFrame(1, Request().ToArray(), endHeaders: true));
        yield return Case("CONTINUATION on another stream", Preface, HeadersFrame(1, [0x82], endHeaders: false), ContinuationFrame(3, [0x84], endHeaders: true));
        yield return Case("DATA inside a header block", Preface, HeadersFrame(1, [0x82], endHeaders: false), DataFrame(1, [1], endStream: true));
        yield return Case("frame larger than SETTINGS_MAX_FRAME_SIZE", Preface, DataFrame(1, new byte[16385], endStream: true));
        yield return Case("HEADERS larger than SETTINGS_MAX_FRAME_SIZE", Preface, HeadersFrame(1, Request().WithoutIndexing("x", new string('x', 16400)).ToArray()));
        yield return Case("padding too long", Preface, Frame(Headers, EndHeaders | Padded, 1, [3, 0x82, 0, 0]));
        yield return Case("priority flag without priority", Preface, Frame(Headers, EndHeaders | PriorityFlag, 1, [0, 0, 0]));
        yield return Case("not HTTP/2", "GET / HTTP/1.1\r\nHost: /tmp/x.sock\r\n\r\n"u8.ToArray());
        yield return Case("HTTP/1.1 PRI-like request", "PRI * HTTP/1.1\r\n\r\n"u8.ToArray());
    }

    [TestCaseSource(nameof(MalformedInputs))]
    public void MalformedInputPassesThroughUnchanged(byte[] input)
    {
        foreach (var chunking in RewriterHarness.AllChunkings)
        {
            var rewriter = new Http2AuthorityRewriter();
            Assert.That(RewriterHarness.Run(input, chunking, rewriter), Is.EqualTo(input), chunking.ToString());
            Assert.That(rewriter.IsInspecting, Is.False);
        }
    }

    [Test]
    public void OversizedHeaderBlockEndsInspection([ValueSource(typeof(RewriterHarness), nameof(RewriterHarness.AllChunkings))] Chunking chunking)
    {
        var block = Request().WithoutIndexing("x-big", new string('b', 300)).ToArray();
        var input = Concat(
            Preface,
            HeadersFrame(1, block[..100], endHeaders: false),
            ContinuationFrame(1, block[100..], endHeaders: true),
            HeadersFrame(3, Request().WithoutIndexing(1, SocketPath).ToArray()));
        var rewriter = new Http2AuthorityRewriter(new Http2AuthorityRewriterOptions { MaxHeaderBlockSize = 200 });
        Assert.That(RewriterHarness.Run(input, chunking, rewriter), Is.EqualTo(input));
        Assert.That(rewriter.IsInspecting, Is.False);
    }

    [Test]
    public void MalformedBlockAfterTheSwitchBecomesACompressionError([ValueSource(typeof(RewriterHarness), nameof(RewriterHarness.AllChunkings))] Chunking chunking, [Values] bool interrupted)
    {
        var first = HeadersFrame(1, Request().Incremental(1, SocketPath).ToArray());
        var bad = interrupted
            ? Concat(HeadersFrame(3, Request().Indexed(62).ToArray(), endHeaders: false), DataFrame(3, [1], endStream: false))
            : HeadersFrame(3, Request().Indexed(62).Indexed(63).ToArray());
        var rest = Concat(PingFrame(), HeadersFrame(5, Request().Indexed(62).ToArray()));
        var rewriter = new Http2AuthorityRewriter();
        var output = RewriterHarness.Run(Concat(Preface, first, bad, rest), chunking, rewriter);
        Assert.That(rewriter.IsInspecting, Is.False);

        var firstOutput = RewriterHarness.Run(Concat(Preface, first), Chunking.Whole);
        var poison = Frame(Headers, EndHeaders | EndStream, 3, [0x82, 0x20]);
        var afterPoison = interrupted ? Concat(DataFrame(3, [1], endStream: false), rest) : rest;
        Assert.That(output, Is.EqualTo(Concat(firstOutput, poison, afterPoison)));

        var server = new ReferenceHpackDecoder();
        server.Decode([.. HeaderBlocks(Parse(firstOutput)).Single().Fragment]);
        Assert.Throws<InvalidDataException>(() => server.Decode([0x82, 0x20]), "every decoder rejects the replacement block");
    }

    [Test]
    public void EndOfInputInsideAHeaderBlock([Values] bool reencoding)
    {
        var first = reencoding ? HeadersFrame(1, Request().WithoutIndexing(1, SocketPath).ToArray()) : HeadersFrame(1, Request().Indexed(2).ToArray());
        var pending = Concat(HeadersFrame(3, Request().ToArray(), endHeaders: false), ContinuationFrame(3, [0x82], endHeaders: false));
        var partial = HeadersFrame(5, [0x82])[..5];
        var output = RewriterHarness.Run(Concat(Preface, first, pending, partial), Chunking.ByteByByte);
        var firstOutput = RewriterHarness.Run(Concat(Preface, first), Chunking.Whole);
        Assert.That(output, Is.EqualTo(reencoding ? Concat(firstOutput, partial) : Concat(firstOutput, pending, partial)));
    }

    [Test]
    public void IncompleteInputIsHeldBack()
    {
        var rewriter = new Http2AuthorityRewriter();
        var frame = HeadersFrame(1, Request().WithoutIndexing(1, SocketPath).ToArray());
        var output = RewriterHarness.Run(Concat(Preface, frame[..^1]), Chunking.Whole, rewriter, endOfInput: false);
        Assert.That(output, Is.EqualTo(Preface), "only complete frames are forwarded");
    }

    [Test]
    public void LogsOncePerConnectionNamingTheAuthority()
    {
        var logger = new ListLogger();
        var rewriter = new Http2AuthorityRewriter(logger: logger, connectionId: "conn-7");
        var input = Concat(
            Preface,
            HeadersFrame(1, Request().Incremental(1, "/tmp/x.sock\n", huffman: true).ToArray()),
            HeadersFrame(3, Request().Indexed(62).ToArray()),
            HeadersFrame(5, Request().WithoutIndexing(1, "/other.sock").ToArray()));
        RewriterHarness.Run(input, Chunking.Random, rewriter);
        Assert.That(logger.Messages, Has.Count.EqualTo(1));
        Assert.That(logger.Messages[0].Level, Is.EqualTo(LogLevel.Debug));
        Assert.That(logger.Messages[0].Text, Does.Contain("/tmp/x.sock\\x0A").And.Contain("conn-7").And.Contain("localhost"));
        Assert.That(rewriter.RewrittenAuthorities, Is.EqualTo(3));
    }

    private static readonly string[] ValidAuthorities = ["localhost", "localhost:50051", "127.0.0.1", "[::1]:1"];
    private static readonly string[] InvalidAuthorities = ["/run/containerd/containerd.sock", "", "unix:///x.sock", "/tmp/x.sock", "a b"];
    private static readonly string[] Paths = ["/containerd.services.tasks.v1.Tasks/Create", "/containerd.services.version.v1.Version/Version", "/grpc.health.v1.Health/Check"];
    private static readonly string[] ExtraNames = ["content-type", "user-agent", "grpc-timeout", "te", "x-a", "x-b", "containerd-namespace"];

    [Test]
    public void RandomisedClientsSeeTheirHeadersWithAuthoritiesRewritten([Range(0, 59)] int seed)
    {
        var random = new Random(seed);
        var client = new ModelClientEncoder(random);
        var invalidRate = random.Next(4) switch { 0 => 0.0, 1 => 0.05, 2 => 0.3, _ => 1.0 };
        var parts = new List<byte[]> { Preface, SettingsFrame() };
        var expected = new List<List<(string, string)>>();
        var sent = new List<List<(string, string)>>();
        var streamId = 1;
        for (var request = 0; request < 25; request++)
        {
            var authority = random.NextDouble() < invalidRate
                ? InvalidAuthorities[random.Next(InvalidAuthorities.Length)]
                : ValidAuthorities[random.Next(ValidAuthorities.Length)];
            var fields = new List<(string, string)> { (":method", "POST"), (":scheme", "http"), (":path", Paths[random.Next(Paths.Length)]), (":authority", authority) };
            for (var i = random.Next(5); i > 0; i--)
            {
                var value = random.Next(10) == 0 ? new string((char)('a' + random.Next(26)), random.Next(100, 1600)) : $"v{random.Next(6)}";
                fields.Add((ExtraNames[random.Next(ExtraNames.Length)], value));
            }

            if (random.Next(3) == 0)
            {
                (fields[0], fields[3]) = (fields[3], fields[0]); // authority first, as some clients send it
            }

            sent.Add(fields);
            expected.Add(fields.Select(f => f.Item1 == ":authority" && !ValidAuthorities.Contains(f.Item2) ? (f.Item1, "localhost") : f).ToList());
            var block = client.Encode(fields);

            // Random framing: split points, padding, priority; other frames around it.
            var cuts = Enumerable.Range(0, random.Next(3)).Select(_ => random.Next(block.Length + 1)).Order().ToList();
            cuts.Insert(0, 0);
            cuts.Add(block.Length);
            var endStream = random.Next(2) == 0;
            for (var i = 0; i + 1 < cuts.Count; i++)
            {
                var fragment = block[cuts[i]..cuts[i + 1]];
                var last = i + 2 == cuts.Count;
                byte[]? priority = random.Next(4) == 0 ? [0, 0, 0, 0, 9] : null;
                // Kestrel (and so the rewriter) rejects padding that leaves an empty payload.
                var padLength = random.Next(3) == 0 && (fragment.Length > 0 || priority is not null) ? random.Next(0, 40) : -1;
                parts.Add(i == 0
                    ? HeadersFrame(streamId, fragment, endStream, last, padLength, priority)
                    : ContinuationFrame(streamId, fragment, last));
            }

            if (!endStream)
            {
                parts.Add(DataFrame(streamId, new byte[random.Next(0, 3000)], endStream: true));
            }

            if (random.Next(4) == 0)
            {
                parts.Add(random.Next(2) == 0 ? PingFrame() : WindowUpdateFrame(0, 1000));
            }

            streamId += 2;
        }

        var input = Concat([.. parts]);
        var clientView = new ReferenceHpackDecoder();
        Assert.That(HeaderBlocks(Parse(input)).Select(b => clientView.Decode([.. b.Fragment])).ToList(), Is.EqualTo(sent), "the model encoder is sound");

        var rewriter = new Http2AuthorityRewriter();
        var output = RewriterHarness.Run(input, (Chunking)(seed % 3), rewriter, seed);
        Assert.That(ServerView(output, out _), Is.EqualTo(expected));
        AssertOtherFramesUnchanged(input, output);
        Assert.That(rewriter.IsInspecting, Is.True);
        if (expected.SequenceEqual(sent, new FieldListComparer()))
        {
            Assert.That(output, Is.EqualTo(input), "nothing to rewrite: byte-identical");
        }
    }

    private sealed class FieldListComparer : IEqualityComparer<List<(string, string)>>
    {
        public bool Equals(List<(string, string)>? x, List<(string, string)>? y) => x!.SequenceEqual(y!);

        public int GetHashCode(List<(string, string)> obj) => obj.Count;
    }

    private sealed class ListLogger : ILogger
    {
        public List<(LogLevel Level, string Text)> Messages { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Messages.Add((logLevel, formatter(state, exception)));
    }
}
