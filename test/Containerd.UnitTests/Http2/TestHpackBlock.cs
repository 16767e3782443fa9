using System.Text;

namespace Containerd.UnitTests.Http2;

/// <summary>A hand-driven HPACK block writer for tests: the caller picks every representation and index.</summary>
internal sealed class TestHpackBlock
{
    private readonly List<byte> _bytes = [];

    public int Length => _bytes.Count;

    public TestHpackBlock Indexed(int index)
    {
        WriteInteger(0x80, 7, index);
        return this;
    }

    public TestHpackBlock Incremental(string name, string value, bool huffman = false) => Literal(0x40, 6, 0, name, value, huffman);

    public TestHpackBlock Incremental(int nameIndex, string value, bool huffman = false) => Literal(0x40, 6, nameIndex, null, value, huffman);

    public TestHpackBlock WithoutIndexing(string name, string value, bool huffman = false) => Literal(0x00, 4, 0, name, value, huffman);

    public TestHpackBlock WithoutIndexing(int nameIndex, string value, bool huffman = false) => Literal(0x00, 4, nameIndex, null, value, huffman);

    public TestHpackBlock NeverIndexed(string name, string value, bool huffman = false) => Literal(0x10, 4, 0, name, value, huffman);

    public TestHpackBlock NeverIndexed(int nameIndex, string value, bool huffman = false) => Literal(0x10, 4, nameIndex, null, value, huffman);

    public TestHpackBlock SizeUpdate(int size)
    {
        WriteInteger(0x20, 5, size);
        return this;
    }

    public TestHpackBlock Raw(params byte[] bytes)
    {
        _bytes.AddRange(bytes);
        return this;
    }

    public byte[] ToArray() => [.. _bytes];

    private TestHpackBlock Literal(byte flags, int prefix, int nameIndex, string? name, string value, bool huffman)
    {
        WriteInteger(flags, prefix, nameIndex);
        if (nameIndex == 0)
        {
            WriteString(name!, huffman);
        }

        WriteString(value, huffman);
        return this;
    }

    private void WriteString(string value, bool huffman)
    {
        var bytes = Encoding.Latin1.GetBytes(value);
        if (huffman)
        {
            bytes = TestHuffman.Encode(bytes);
        }

        WriteInteger(huffman ? (byte)0x80 : (byte)0, 7, bytes.Length);
        _bytes.AddRange(bytes);
    }

    private void WriteInteger(byte flags, int prefix, int value)
    {
        var max = (1 << prefix) - 1;
        if (value < max)
        {
            _bytes.Add((byte)(flags | value));
            return;
        }

        _bytes.Add((byte)(flags | max));
        value -= max;
        while (value >= 128)
        {
            _bytes.Add((byte)(value % 128 + 128));
            value /= 128;
        }

        _bytes.Add((byte)value);
    }
}
