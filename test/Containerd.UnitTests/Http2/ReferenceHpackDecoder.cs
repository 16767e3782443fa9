using System.Text;

namespace Containerd.UnitTests.Http2;

/// <summary>
/// A straightforward, independent HPACK decoder used to check what a server sees: its own static
/// table copy, a list-based dynamic table and the bit-by-bit <see cref="TestHuffman"/> decoder.
/// Throws <see cref="InvalidDataException"/> on any decoding error.
/// </summary>
internal sealed class ReferenceHpackDecoder(int maxTableSize = 4096)
{
    private readonly int _limit = maxTableSize;

    public static readonly (string Name, string Value)[] StaticTable =
    [
        (":authority", ""), (":method", "GET"), (":method", "POST"), (":path", "/"), (":path", "/index.html"),
        (":scheme", "http"), (":scheme", "https"), (":status", "200"), (":status", "204"), (":status", "206"),
        (":status", "304"), (":status", "400"), (":status", "404"), (":status", "500"), ("accept-charset", ""),
        ("accept-encoding", "gzip, deflate"), ("accept-language", ""), ("accept-ranges", ""), ("accept", ""),
        ("access-control-allow-origin", ""), ("age", ""), ("allow", ""), ("authorization", ""), ("cache-control", ""),
        ("content-disposition", ""), ("content-encoding", ""), ("content-language", ""), ("content-length", ""),
        ("content-location", ""), ("content-range", ""), ("content-type", ""), ("cookie", ""), ("date", ""),
        ("etag", ""), ("expect", ""), ("expires", ""), ("from", ""), ("host", ""), ("if-match", ""),
        ("if-modified-since", ""), ("if-none-match", ""), ("if-range", ""), ("if-unmodified-since", ""),
        ("last-modified", ""), ("link", ""), ("location", ""), ("max-forwards", ""), ("proxy-authenticate", ""),
        ("proxy-authorization", ""), ("range", ""), ("referer", ""), ("refresh", ""), ("retry-after", ""),
        ("server", ""), ("set-cookie", ""), ("strict-transport-security", ""), ("transfer-encoding", ""),
        ("user-agent", ""), ("vary", ""), ("via", ""), ("www-authenticate", ""),
    ];

    private readonly List<(string Name, string Value)> _table = []; // newest first
    private int _maxSize = maxTableSize;

    public int TableSize => _table.Sum(e => e.Name.Length + e.Value.Length + 32);

    public int TableCount => _table.Count;

    /// <summary>How many fields of the last block used a dynamic-table index.</summary>
    public int DynamicReferences { get; private set; }

    /// <summary>How many insertions and size updates the last block made.</summary>
    public int TableChanges { get; private set; }

    public List<(string Name, string Value)> Decode(byte[] block)
    {
        var result = new List<(string, string)>();
        DynamicReferences = 0;
        TableChanges = 0;
        var position = 0;
        var fieldSeen = false;
        while (position < block.Length)
        {
            var b = block[position];
            if (b >= 0x80)
            {
                fieldSeen = true;
                result.Add(Lookup(ReadInteger(block, ref position, 7)));
            }
            else if (b >= 0x40)
            {
                fieldSeen = true;
                var field = ReadLiteral(block, ref position, 6);
                result.Add(field);
                Insert(field);
            }
            else if (b >= 0x20)
            {
                if (fieldSeen)
                {
                    throw new InvalidDataException("size update after a field");
                }

                var size = ReadInteger(block, ref position, 5);
                if (size > _limit)
                {
                    throw new InvalidDataException("size update above the limit");
                }

                TableChanges++;
                _maxSize = size;
                Evict(0);
            }
            else
            {
                fieldSeen = true;
                result.Add(ReadLiteral(block, ref position, 4));
            }
        }

        return result;
    }

    private (string Name, string Value) ReadLiteral(byte[] block, ref int position, int prefix)
    {
        var nameIndex = ReadInteger(block, ref position, prefix);
        var name = nameIndex == 0 ? ReadString(block, ref position) : Lookup(nameIndex).Name;
        if (name.Length == 0)
        {
            throw new InvalidDataException("empty name");
        }

        return (name, ReadString(block, ref position));
    }

    private (string Name, string Value) Lookup(int index)
    {
        if (index < 1)
        {
            throw new InvalidDataException("index 0");
        }

        if (index <= StaticTable.Length)
        {
            return StaticTable[index - 1];
        }

        DynamicReferences++;
        var dynamicIndex = index - StaticTable.Length - 1;
        if (dynamicIndex >= _table.Count)
        {
            throw new InvalidDataException($"index {index} beyond the dynamic table");
        }

        return _table[dynamicIndex];
    }

    private void Insert((string Name, string Value) field)
    {
        TableChanges++;
        var size = field.Name.Length + field.Value.Length + 32;
        Evict(size);
        if (size <= _maxSize)
        {
            _table.Insert(0, field);
        }
    }

    private void Evict(int needed)
    {
        while (_table.Count > 0 && TableSize + needed > _maxSize)
        {
            _table.RemoveAt(_table.Count - 1);
        }
    }

    private static string ReadString(byte[] block, ref int position)
    {
        if (position >= block.Length)
        {
            throw new InvalidDataException("truncated string");
        }

        var huffman = block[position] >= 0x80;
        var length = ReadInteger(block, ref position, 7);
        if (length > block.Length - position)
        {
            throw new InvalidDataException("truncated string");
        }

        var bytes = block.AsSpan(position, length);
        position += length;
        return Encoding.Latin1.GetString(huffman ? TestHuffman.Decode(bytes) : bytes);
    }

    private static int ReadInteger(byte[] block, ref int position, int prefix)
    {
        var max = (1 << prefix) - 1;
        long value = block[position++] & max;
        if (value < max)
        {
            return (int)value;
        }

        var multiplier = 1L;
        while (true)
        {
            if (position >= block.Length)
            {
                throw new InvalidDataException("truncated integer");
            }

            var b = block[position++];
            value += (b & 0x7F) * multiplier;
            multiplier *= 128;
            if (value > int.MaxValue)
            {
                throw new InvalidDataException("integer overflow");
            }

            if (b < 0x80)
            {
                return (int)value;
            }
        }
    }
}
