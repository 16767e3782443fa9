namespace Containerd.Http2.Hpack;

/// <summary>
/// Encodes a header list without touching the receiver's dynamic table: only static-table indexes,
/// literals without indexing and literals never indexed, no table size updates. A block encoded
/// this way decodes to the same fields whatever the receiver's dynamic table holds.
/// </summary>
public static class HpackLiteralEncoder
{
    /// <summary>An upper bound on the encoded size of <paramref name="headers"/>.</summary>
    public static int GetMaxEncodedLength(HpackHeaderList headers)
    {
        long total = 0;
        for (var i = 0; i < headers.Count; i++)
        {
            // Representation byte + name index (<= 2 bytes), two strings of up to 5 length bytes each.
            total += 16 + headers.GetName(i).Length + headers.GetValue(i).Length;
        }

        return (int)Math.Min(total, Array.MaxLength);
    }

    /// <summary>Encodes <paramref name="headers"/> into <paramref name="destination"/>; returns the length.</summary>
    public static int Encode(HpackHeaderList headers, Span<byte> destination)
    {
        var written = 0;
        for (var i = 0; i < headers.Count; i++)
        {
            var name = headers.GetName(i);
            var value = headers.GetValue(i);
            var neverIndexed = headers.IsNeverIndexed(i);
            var index = HpackStaticTable.Find(name, value, out var nameIndex);
            if (index != 0 && !neverIndexed)
            {
                written += WriteInteger(destination[written..], 0x80, 7, index);
                continue;
            }

            written += WriteInteger(destination[written..], neverIndexed ? (byte)0x10 : (byte)0x00, 4, nameIndex);
            if (nameIndex == 0)
            {
                written += WriteString(destination[written..], name);
            }

            written += WriteString(destination[written..], value);
        }

        return written;
    }

    /// <summary>Writes an HPACK integer with the given first-byte flag bits and prefix length.</summary>
    public static int WriteInteger(Span<byte> destination, byte flags, int prefixBits, int value)
    {
        var mask = (1 << prefixBits) - 1;
        if (value < mask)
        {
            destination[0] = (byte)(flags | value);
            return 1;
        }

        destination[0] = (byte)(flags | mask);
        var written = 1;
        var rest = (uint)(value - mask);
        while (rest >= 0x80)
        {
            destination[written++] = (byte)(rest | 0x80);
            rest >>= 7;
        }

        destination[written++] = (byte)rest;
        return written;
    }

    /// <summary>Writes a string literal, Huffman-coded when that is shorter.</summary>
    public static int WriteString(Span<byte> destination, ReadOnlySpan<byte> value)
    {
        var huffmanLength = HpackHuffman.GetEncodedLength(value);
        if (huffmanLength < value.Length)
        {
            var written = WriteInteger(destination, 0x80, 7, huffmanLength);
            return written + HpackHuffman.Encode(value, destination[written..]);
        }

        var length = WriteInteger(destination, 0x00, 7, value.Length);
        value.CopyTo(destination[length..]);
        return length + value.Length;
    }
}
