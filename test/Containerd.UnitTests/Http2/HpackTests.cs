using System.Text;
using Containerd.Http2;
using Containerd.Http2.Hpack;

namespace Containerd.UnitTests.Http2;

public sealed class HpackTests
{
    private static byte[] Hex(string hex) => Convert.FromHexString(new string(hex.Where(char.IsAsciiHexDigit).ToArray()));

    private static List<(string, string)> Fields(HpackHeaderList headers) =>
        Enumerable.Range(0, headers.Count).Select(i => (headers.GetNameString(i), headers.GetValueString(i))).ToList();

    [Test]
    public void HuffmanCodesMatchTheRfcTable()
    {
        for (var symbol = 0; symbol <= 256; symbol++)
        {
            Assert.That(HpackHuffman.GetCode(symbol), Is.EqualTo(TestHuffman.Table[symbol]), $"symbol {symbol}");
        }
    }

    [TestCase("www.example.com", "f1e3c2e5f23a6ba0ab90f4ff")]
    [TestCase("no-cache", "a8eb10649cbf")]
    [TestCase("custom-key", "25a849e95ba97d7f")]
    [TestCase("custom-value", "25a849e95bb8e8b4bf")]
    [TestCase("", "")]
    public void HuffmanMatchesRfcExamples(string text, string hex)
    {
        var plain = Encoding.ASCII.GetBytes(text);
        var encoded = new byte[HpackHuffman.GetEncodedLength(plain)];
        Assert.That(HpackHuffman.Encode(plain, encoded), Is.EqualTo(encoded.Length));
        Assert.That(Convert.ToHexString(encoded), Is.EqualTo(hex.ToUpperInvariant()));
        Assert.That(TestHuffman.Encode(plain), Is.EqualTo(encoded));

        var decoded = new byte[HpackHuffman.GetMaxDecodedLength(encoded.Length)];
        var length = HpackHuffman.Decode(encoded, decoded);
        Assert.That(Encoding.ASCII.GetString(decoded, 0, length), Is.EqualTo(text));
    }

    [Test]
    public void HuffmanRoundTripsEveryByteValue()
    {
        var random = new Random(7);
        for (var round = 0; round < 500; round++)
        {
            var plain = new byte[random.Next(0, 100)];
            random.NextBytes(plain);
            var encoded = new byte[HpackHuffman.GetEncodedLength(plain)];
            HpackHuffman.Encode(plain, encoded);
            Assert.That(encoded, Is.EqualTo(TestHuffman.Encode(plain)));
            var decoded = new byte[HpackHuffman.GetMaxDecodedLength(encoded.Length)];
            var length = HpackHuffman.Decode(encoded, decoded);
            Assert.That(decoded.AsSpan(0, length).ToArray(), Is.EqualTo(plain));
        }
    }

    [TestCase("00", TestName = "Huffman padding of zeros")]
    [TestCase("ff", TestName = "Huffman padding of 8 bits")]
    [TestCase("f1e3c2e5f23a6ba0ab90f4ffff", TestName = "Huffman padding after a full byte")]
    [TestCase("ffffffff", TestName = "Huffman EOS symbol")]
    [TestCase("fe", TestName = "Huffman incomplete code")]
    public void HuffmanRejectsInvalidInput(string hex)
    {
        var encoded = Hex(hex);
        Assert.That(HpackHuffman.Decode(encoded, new byte[64]), Is.EqualTo(-1));
        Assert.Throws<InvalidDataException>(() => TestHuffman.Decode(encoded));
    }

    [Test]
    public void DecodesRfcRequestsWithoutHuffman() => DecodeSeries(4096,
    [
        ("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
            [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "www.example.com")], 57),
        ("8286 84be 5808 6e6f 2d63 6163 6865",
            [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "www.example.com"), ("cache-control", "no-cache")], 110),
        ("8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
            [(":method", "GET"), (":scheme", "https"), (":path", "/index.html"), (":authority", "www.example.com"), ("custom-key", "custom-value")], 164),
    ]);

    [Test]
    public void DecodesRfcRequestsWithHuffman() => DecodeSeries(4096,
    [
        ("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
            [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "www.example.com")], 57),
        ("8286 84be 5886 a8eb 1064 9cbf",
            [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "www.example.com"), ("cache-control", "no-cache")], 110),
        ("8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
            [(":method", "GET"), (":scheme", "https"), (":path", "/index.html"), (":authority", "www.example.com"), ("custom-key", "custom-value")], 164),
    ]);

    private static readonly (string, string)[] Response3 =
    [
        (":status", "200"), ("cache-control", "private"), ("date", "Mon, 21 Oct 2013 20:13:22 GMT"),
        ("location", "https://www.example.com"), ("content-encoding", "gzip"),
        ("set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"),
    ];

    [Test]
    public void DecodesRfcResponsesWithEviction() => DecodeSeries(256,
    [
        ("4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
            [(":status", "302"), ("cache-control", "private"), ("date", "Mon, 21 Oct 2013 20:13:21 GMT"), ("location", "https://www.example.com")], 222),
        ("4803 3330 37c1 c0bf",
            [(":status", "307"), ("cache-control", "private"), ("date", "Mon, 21 Oct 2013 20:13:21 GMT"), ("location", "https://www.example.com")], 222),
        ("88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31",
            Response3, 215),
    ]);

    [Test]
    public void DecodesRfcResponsesWithHuffmanAndEviction() => DecodeSeries(256,
    [
        ("4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
            [(":status", "302"), ("cache-control", "private"), ("date", "Mon, 21 Oct 2013 20:13:21 GMT"), ("location", "https://www.example.com")], 222),
        ("4883 640e ffc1 c0bf",
            [(":status", "307"), ("cache-control", "private"), ("date", "Mon, 21 Oct 2013 20:13:21 GMT"), ("location", "https://www.example.com")], 222),
        ("88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07",
            Response3, 215),
    ]);

    private static void DecodeSeries(int tableSize, (string Hex, (string, string)[] Fields, int TableSize)[] steps)
    {
        var decoder = new HpackDecoder(tableSize);
        var reference = new ReferenceHpackDecoder(tableSize);
        var headers = new HpackHeaderList();
        foreach (var (hex, fields, size) in steps)
        {
            Assert.That(decoder.TryDecode(Hex(hex), headers), Is.True);
            Assert.That(Fields(headers), Is.EqualTo(fields));
            Assert.That(decoder.Table.Size, Is.EqualTo(size));
            Assert.That(reference.Decode(Hex(hex)), Is.EqualTo(fields), "the reference decoder agrees");
            Assert.That(reference.TableSize, Is.EqualTo(size));
        }
    }

    [Test]
    public void DecodesEveryRepresentation()
    {
        var block = new TestHpackBlock()
            .SizeUpdate(1000).SizeUpdate(4096)
            .Indexed(2)
            .Incremental("x-new", "one", huffman: true)
            .Incremental(1, "host.example")
            .WithoutIndexing(4, "/a/b", huffman: true)
            .WithoutIndexing("x-plain", "two")
            .NeverIndexed(23, "secret")
            .NeverIndexed("x-never", "three", huffman: true)
            .Indexed(62)
            .Incremental(63, "other")
            .ToArray();
        var decoder = new HpackDecoder();
        var headers = new HpackHeaderList();
        Assert.That(decoder.TryDecode(block, headers), Is.True);
        Assert.That(Fields(headers), Is.EqualTo(new[]
        {
            (":method", "GET"), ("x-new", "one"), (":authority", "host.example"), (":path", "/a/b"), ("x-plain", "two"),
            ("authorization", "secret"), ("x-never", "three"), (":authority", "host.example"), ("x-new", "other"),
        }));
        Assert.That(headers.IsNeverIndexed(5) && headers.IsNeverIndexed(6) && !headers.IsNeverIndexed(4), Is.True);
        Assert.That(headers.ReferencesDynamicTable, Is.True);
        Assert.That(decoder.Table.Count, Is.EqualTo(3));
        Assert.That(decoder.Table.Size, Is.EqualTo("x-new".Length + 3 + 32 + ":authority".Length + 12 + 32 + "x-new".Length + 5 + 32));
    }

    [Test]
    public void EvictsOldestEntriesAndEmptiesOnOversizedEntry()
    {
        var decoder = new HpackDecoder(200);
        var headers = new HpackHeaderList();
        var big = new string('a', 60); // entry size 32 + 1 + 60 = 93
        Assert.That(decoder.TryDecode(new TestHpackBlock().Incremental("a", big).Incremental("b", big).ToArray(), headers), Is.True);
        Assert.That(decoder.Table.Count, Is.EqualTo(2));
        Assert.That(decoder.TryDecode(new TestHpackBlock().Incremental("c", big).ToArray(), headers), Is.True);
        Assert.That(decoder.Table.Count, Is.EqualTo(2), "a was evicted");
        Assert.That(decoder.TryDecode(new TestHpackBlock().Indexed(62).Indexed(63).ToArray(), headers), Is.True);
        Assert.That(Fields(headers), Is.EqualTo(new[] { ("c", big), ("b", big) }));
        Assert.That(decoder.TryDecode(new TestHpackBlock().Indexed(64).ToArray(), headers), Is.False, "index 64 no longer exists");

        decoder = new HpackDecoder(200);
        Assert.That(decoder.TryDecode(new TestHpackBlock().Incremental("a", big).Incremental("b", new string('b', 200)).ToArray(), headers), Is.True);
        Assert.That(decoder.Table.Count, Is.EqualTo(0), "an entry larger than the table empties it");
        Assert.That(decoder.Table.Size, Is.EqualTo(0));
    }

    [Test]
    public void SizeUpdateEvictsAndIsBounded()
    {
        var decoder = new HpackDecoder();
        var headers = new HpackHeaderList();
        Assert.That(decoder.TryDecode(new TestHpackBlock().Incremental("a", "1").Incremental("b", "2").ToArray(), headers), Is.True);
        Assert.That(decoder.TryDecode(new TestHpackBlock().SizeUpdate(34).Indexed(62).ToArray(), headers), Is.True);
        Assert.That(Fields(headers), Is.EqualTo(new[] { ("b", "2") }));
        Assert.That(decoder.Table.Count, Is.EqualTo(1));
        Assert.That(decoder.TryDecode(new TestHpackBlock().SizeUpdate(4096).Incremental("c", "3").Indexed(63).ToArray(), headers), Is.True);
        Assert.That(Fields(headers), Is.EqualTo(new[] { ("c", "3"), ("b", "2") }));
        Assert.That(decoder.TryDecode(new TestHpackBlock().SizeUpdate(4097).ToArray(), headers), Is.False, "above SETTINGS_HEADER_TABLE_SIZE");
    }

    [TestCase("80", TestName = "HPACK index 0")]
    [TestCase("be", TestName = "HPACK index beyond the tables")]
    [TestCase("8220", TestName = "HPACK size update after a field")]
    [TestCase("4000", TestName = "HPACK empty literal name")]
    [TestCase("400178", TestName = "HPACK truncated value")]
    [TestCase("0f", TestName = "HPACK truncated integer")]
    [TestCase("ff8080808008", TestName = "HPACK integer overflow")]
    [TestCase("ff8000", TestName = "HPACK over-long integer")]
    [TestCase("4181ff0161", TestName = "HPACK Huffman name of padding only")]
    [TestCase("0001788100", TestName = "HPACK bad Huffman value")]
    public void RejectsMalformedBlocks(string hex)
    {
        Assert.That(new HpackDecoder().TryDecode(Hex(hex), new HpackHeaderList()), Is.False);
    }

    [Test]
    public void IntegersFollowKestrelLimits()
    {
        var position = 0;
        Assert.That(HpackDecoder.TryReadInteger(Hex("1f9a0a"), ref position, 5, out var value), Is.True);
        Assert.That(value, Is.EqualTo(1337)); // RFC 7541 C.1.2
        position = 0;
        Assert.That(HpackDecoder.TryReadInteger(Hex("7f00"), ref position, 7, out value), Is.True, "one zero continuation byte is canonical");
        Assert.That(value, Is.EqualTo(127));
        position = 0;
        Assert.That(HpackDecoder.TryReadInteger(Hex("ff80ffffff07"), ref position, 7, out value), Is.True);
        Assert.That(value, Is.EqualTo(int.MaxValue));
        position = 0;
        Assert.That(HpackDecoder.TryReadInteger(Hex("ff81ffffff07"), ref position, 7, out _), Is.False);
    }

    [TestCase("localhost")]
    [TestCase("localhost:50051")]
    [TestCase("127.0.0.1:8080")]
    [TestCase("containerd.sock")]
    [TestCase("my_host-1.example.com")]
    [TestCase("[::1]")]
    [TestCase("[fe80::1]:443")]
    [TestCase("a!$&'()~")]
    public void AcceptsHostsKestrelAccepts(string authority) =>
        Assert.That(Http2Authority.IsValid(Encoding.Latin1.GetBytes(authority)), Is.True);

    [TestCase("")]
    [TestCase("/run/containerd/containerd.sock")]
    [TestCase("unix:///run/containerd/containerd.sock")]
    [TestCase("unix:/x")]
    [TestCase(":80")]
    [TestCase("localhost:")]
    [TestCase("localhost:8o")]
    [TestCase("a b")]
    [TestCase("host\n")]
    [TestCase("ho\u0000st")]
    [TestCase("héllo")]
    [TestCase("user@host")]
    [TestCase("100%")]
    [TestCase("[::1")]
    [TestCase("[1]")]
    [TestCase("[::1]x")]
    [TestCase("[::g]")]
    public void RejectsHostsKestrelRejects(string authority) =>
        Assert.That(Http2Authority.IsValid(Encoding.Latin1.GetBytes(authority)), Is.False);
}
