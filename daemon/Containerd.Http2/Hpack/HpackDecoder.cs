using System.Numerics;

namespace Containerd.Http2.Hpack;

/// <summary>
/// An HPACK decoder (RFC 7541) that mirrors the peer's encoder state. Its error rules follow the
/// decoder Kestrel uses (System.Net.Http.HPack.HPackDecoder), so a block this class rejects is one
/// Kestrel rejects with COMPRESSION_ERROR too.
/// </summary>
public sealed class HpackDecoder
{
    private readonly HpackDynamicTable _table;

    /// <param name="maxTableSize">
    /// The SETTINGS_HEADER_TABLE_SIZE this side advertised: the initial and the largest dynamic table size.
    /// </param>
    public HpackDecoder(int maxTableSize = 4096)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxTableSize);
        MaxTableSizeLimit = maxTableSize;
        _table = new HpackDynamicTable(maxTableSize);
    }

    /// <summary>The largest size a dynamic table size update may set.</summary>
    public int MaxTableSizeLimit { get; }

    /// <summary>The dynamic table (read it; do not modify it).</summary>
    public HpackDynamicTable Table => _table;

    /// <summary>
    /// Decodes one complete header block into <paramref name="headers"/> (cleared first) and applies its
    /// dynamic table changes. Returns false on any decoding error; the table state is then unspecified.
    /// </summary>
    public bool TryDecode(ReadOnlySpan<byte> block, HpackHeaderList headers)
    {
        headers.Clear();
        var position = 0;
        var fieldSeen = false;
        while (position < block.Length)
        {
            var first = block[position];
            if ((first & 0x80) != 0)
            {
                // Indexed header field (6.1).
                fieldSeen = true;
                if (!TryReadInteger(block, ref position, 7, out var index) || !TryAddIndexed(index, headers))
                {
                    return false;
                }
            }
            else if ((first & 0xC0) == 0x40)
            {
                // Literal with incremental indexing (6.2.1).
                fieldSeen = true;
                if (!TryReadLiteral(block, ref position, 6, insert: true, neverIndexed: false, headers))
                {
                    return false;
                }
            }
            else if ((first & 0xE0) == 0x20)
            {
                // Dynamic table size update (6.3): only before the first field of a block.
                if (fieldSeen || !TryReadInteger(block, ref position, 5, out var size) || size > MaxTableSizeLimit)
                {
                    return false;
                }

                _table.Resize(size);
            }
            else
            {
                // Literal without indexing (0000xxxx, 6.2.2) or never indexed (0001xxxx, 6.2.3).
                fieldSeen = true;
                if (!TryReadLiteral(block, ref position, 4, insert: false, neverIndexed: (first & 0x10) != 0, headers))
                {
                    return false;
                }
            }
        }

        return true;
    }

    /// <summary>
    /// Reads an HPACK integer (RFC 7541 section 5.1) whose prefix occupies the low
    /// <paramref name="prefixBits"/> bits of the byte at <paramref name="position"/>.
    /// Rejects values above int.MaxValue and the over-long forms Kestrel rejects.
    /// </summary>
    public static bool TryReadInteger(ReadOnlySpan<byte> source, ref int position, int prefixBits, out int value)
    {
        value = 0;
        if (position >= source.Length)
        {
            return false;
        }

        var mask = (1 << prefixBits) - 1;
        var result = source[position++] & mask;
        if (result < mask)
        {
            value = result;
            return true;
        }

        var shift = 0;
        while (position < source.Length)
        {
            var b = source[position++];
            if (BitOperations.LeadingZeroCount((uint)b) <= shift)
            {
                return false; // more than 31 bits
            }

            result = unchecked(result + ((b & 0x7F) << shift));
            if (result < 0)
            {
                return false;
            }

            shift += 7;
            if ((b & 0x80) == 0)
            {
                if (b == 0 && shift > 7)
                {
                    return false; // a trailing zero continuation byte
                }

                value = result;
                return true;
            }
        }

        return false;
    }

    private bool TryAddIndexed(int index, HpackHeaderList headers)
    {
        if (index == 0)
        {
            return false;
        }

        if (index <= HpackStaticTable.Count)
        {
            headers.Add(HpackStaticTable.GetName(index), HpackStaticTable.GetValue(index));
            return true;
        }

        var dynamicIndex = index - HpackStaticTable.Count - 1;
        if (dynamicIndex >= _table.Count)
        {
            return false;
        }

        _table.Get(dynamicIndex, out var name, out var value);
        headers.Add(name, value);
        headers.ReferencesDynamicTable = true;
        return true;
    }

    private bool TryReadLiteral(ReadOnlySpan<byte> block, ref int position, int prefixBits, bool insert, bool neverIndexed, HpackHeaderList headers)
    {
        if (!TryReadInteger(block, ref position, prefixBits, out var nameIndex))
        {
            return false;
        }

        int nameOffset, nameLength;
        if (nameIndex == 0)
        {
            if (!TryReadString(block, ref position, headers, out nameOffset, out nameLength) || nameLength == 0)
            {
                return false;
            }
        }
        else if (nameIndex <= HpackStaticTable.Count)
        {
            var name = HpackStaticTable.GetName(nameIndex);
            nameOffset = headers.Append(name);
            nameLength = name.Length;
        }
        else
        {
            var dynamicIndex = nameIndex - HpackStaticTable.Count - 1;
            if (dynamicIndex >= _table.Count)
            {
                return false;
            }

            _table.Get(dynamicIndex, out var name, out _);
            nameOffset = headers.Append(name);
            nameLength = name.Length;
            headers.ReferencesDynamicTable = true;
        }

        if (!TryReadString(block, ref position, headers, out var valueOffset, out var valueLength))
        {
            return false;
        }

        headers.AddField(nameOffset, nameLength, valueOffset, valueLength, neverIndexed);
        if (insert)
        {
            _table.Insert(headers.Slice(nameOffset, nameLength), headers.Slice(valueOffset, valueLength));
        }

        return true;
    }

    private static bool TryReadString(ReadOnlySpan<byte> block, ref int position, HpackHeaderList headers, out int offset, out int length)
    {
        offset = 0;
        length = 0;
        if (position >= block.Length)
        {
            return false;
        }

        var huffman = (block[position] & 0x80) != 0;
        if (!TryReadInteger(block, ref position, 7, out var encodedLength) || encodedLength > block.Length - position)
        {
            return false;
        }

        var source = block.Slice(position, encodedLength);
        position += encodedLength;
        if (huffman)
        {
            var destination = headers.Reserve(HpackHuffman.GetMaxDecodedLength(encodedLength), out offset);
            length = HpackHuffman.Decode(source, destination);
            if (length < 0)
            {
                return false;
            }
        }
        else
        {
            source.CopyTo(headers.Reserve(encodedLength, out offset));
            length = encodedLength;
        }

        headers.Commit(length);
        return true;
    }
}
