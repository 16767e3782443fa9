namespace Containerd.Http2.Hpack;

/// <summary>
/// The HPACK Huffman code (RFC 7541 Appendix B). The code is canonical, so it is fully described
/// by the code length of each symbol; the codes themselves are derived at type initialisation.
/// </summary>
public static class HpackHuffman
{
    /// <summary>Symbol 256 is EOS; it must never appear inside a string.</summary>
    public const int EosSymbol = 256;

    // Code length in bits for symbols 0..256 (RFC 7541 Appendix B).
    private static ReadOnlySpan<byte> CodeLengths =>
    [
        13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
        28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
        6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
        5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
        13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
        7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
        15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
        6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
        20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
        24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
        22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
        21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
        26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
        19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
        20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
        26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
        30,
    ];

    private const int MinLength = 5;
    private const int MaxLength = 30;

    private static readonly uint[] Codes = new uint[257];

    // Canonical decoding tables, indexed by code length.
    private static readonly uint[] FirstCode = new uint[MaxLength + 1];
    private static readonly ulong[] LimitLeftAligned = new ulong[MaxLength + 1];
    private static readonly int[] FirstSortedIndex = new int[MaxLength + 1];
    private static readonly ushort[] SortedSymbols = new ushort[257];

    static HpackHuffman()
    {
        var lengths = CodeLengths;
        var countPerLength = new int[MaxLength + 1];
        foreach (var length in lengths)
        {
            countPerLength[length]++;
        }

        // Symbols sorted by (length, symbol): the canonical order.
        var next = 0;
        for (var length = MinLength; length <= MaxLength; length++)
        {
            FirstSortedIndex[length] = next;
            for (var symbol = 0; symbol < lengths.Length; symbol++)
            {
                if (lengths[symbol] == length)
                {
                    SortedSymbols[next++] = (ushort)symbol;
                }
            }
        }

        uint code = 0;
        for (var length = MinLength; length <= MaxLength; length++)
        {
            FirstCode[length] = code;
            var count = countPerLength[length];
            for (var i = 0; i < count; i++)
            {
                Codes[SortedSymbols[FirstSortedIndex[length] + i]] = code + (uint)i;
            }

            LimitLeftAligned[length] = (ulong)(code + (uint)count) << (32 - length);
            code = (code + (uint)count) << 1;
        }
    }

    /// <summary>The code of <paramref name="symbol"/>, right-aligned, and its length in bits.</summary>
    public static (uint Code, int Length) GetCode(int symbol) => (Codes[symbol], CodeLengths[symbol]);

    /// <summary>The number of bytes <see cref="Encode"/> produces for <paramref name="source"/>.</summary>
    public static int GetEncodedLength(ReadOnlySpan<byte> source)
    {
        var lengths = CodeLengths;
        long bits = 0;
        foreach (var b in source)
        {
            bits += lengths[b];
        }

        return (int)((bits + 7) >> 3);
    }

    /// <summary>Huffman-encodes <paramref name="source"/>, padding the last byte with ones (an EOS prefix).</summary>
    /// <returns>The number of bytes written.</returns>
    public static int Encode(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        var lengths = CodeLengths;
        ulong accumulator = 0;
        var bits = 0;
        var written = 0;
        foreach (var b in source)
        {
            int length = lengths[b];
            accumulator = (accumulator << length) | Codes[b];
            bits += length;
            while (bits >= 8)
            {
                bits -= 8;
                destination[written++] = (byte)(accumulator >> bits);
            }
        }

        if (bits > 0)
        {
            destination[written++] = (byte)((accumulator << (8 - bits)) | (0xFFu >> bits));
        }

        return written;
    }

    /// <summary>The largest number of bytes <paramref name="encodedLength"/> Huffman bytes can decode to.</summary>
    public static int GetMaxDecodedLength(int encodedLength) => (int)(((long)encodedLength * 8 + MinLength - 1) / MinLength);

    /// <summary>
    /// Decodes a Huffman-coded string. Follows RFC 7541 section 5.2 strictly: the EOS symbol inside the
    /// string, padding longer than 7 bits and padding that is not all ones are errors.
    /// </summary>
    /// <returns>The number of bytes written, or -1 if the input is not a valid Huffman string.</returns>
    public static int Decode(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        // The accumulator holds `bits` valid bits, left-aligned in 64 bits.
        ulong accumulator = 0;
        var bits = 0;
        var read = 0;
        var written = 0;
        while (true)
        {
            while (bits <= 56 && read < source.Length)
            {
                accumulator |= (ulong)source[read++] << (56 - bits);
                bits += 8;
            }

            if (bits == 0)
            {
                return written;
            }

            if (bits <= 7)
            {
                // Only padding may remain: no code of 7 bits or fewer consists of ones only.
                var mask = (1UL << bits) - 1;
                if ((accumulator >> (64 - bits)) == mask)
                {
                    return written;
                }
            }

            // A 32-bit window; bits past the end of the input read as ones.
            var window = (uint)(accumulator >> 32);
            if (bits < 32)
            {
                window |= uint.MaxValue >> bits;
            }

            var length = MinLength;
            while (window >= LimitLeftAligned[length])
            {
                if (++length > MaxLength)
                {
                    return -1;
                }
            }

            if (length > bits)
            {
                return -1; // an incomplete code, or padding that is not an EOS prefix
            }

            var symbol = SortedSymbols[FirstSortedIndex[length] + (int)((window >> (32 - length)) - FirstCode[length])];
            if (symbol == EosSymbol || written >= destination.Length)
            {
                return -1;
            }

            destination[written++] = (byte)symbol;
            accumulator <<= length;
            bits -= length;
        }
    }
}
