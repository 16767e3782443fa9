using System.Text;

namespace Containerd.Http2.Hpack;

/// <summary>The HPACK static table (RFC 7541 Appendix A). Indexes are 1-based.</summary>
public static class HpackStaticTable
{
    public const int Count = 61;

    private static readonly byte[][] Names;
    private static readonly byte[][] Values;

    // Entry indexes (0-based) grouped by name length, in table order.
    private static readonly int[][] ByNameLength;

    static HpackStaticTable()
    {
        (string Name, string Value)[] entries =
        [
            (":authority", ""),
            (":method", "GET"),
            (":method", "POST"),
            (":path", "/"),
            (":path", "/index.html"),
            (":scheme", "http"),
            (":scheme", "https"),
            (":status", "200"),
            (":status", "204"),
            (":status", "206"),
            (":status", "304"),
            (":status", "400"),
            (":status", "404"),
            (":status", "500"),
            ("accept-charset", ""),
            ("accept-encoding", "gzip, deflate"),
            ("accept-language", ""),
            ("accept-ranges", ""),
            ("accept", ""),
            ("access-control-allow-origin", ""),
            ("age", ""),
            ("allow", ""),
            ("authorization", ""),
            ("cache-control", ""),
            ("content-disposition", ""),
            ("content-encoding", ""),
            ("content-language", ""),
            ("content-length", ""),
            ("content-location", ""),
            ("content-range", ""),
            ("content-type", ""),
            ("cookie", ""),
            ("date", ""),
            ("etag", ""),
            ("expect", ""),
            ("expires", ""),
            ("from", ""),
            ("host", ""),
            ("if-match", ""),
            ("if-modified-since", ""),
            ("if-none-match", ""),
            ("if-range", ""),
            ("if-unmodified-since", ""),
            ("last-modified", ""),
            ("link", ""),
            ("location", ""),
            ("max-forwards", ""),
            ("proxy-authenticate", ""),
            ("proxy-authorization", ""),
            ("range", ""),
            ("referer", ""),
            ("refresh", ""),
            ("retry-after", ""),
            ("server", ""),
            ("set-cookie", ""),
            ("strict-transport-security", ""),
            ("transfer-encoding", ""),
            ("user-agent", ""),
            ("vary", ""),
            ("via", ""),
            ("www-authenticate", ""),
        ];

        Names = new byte[Count][];
        Values = new byte[Count][];
        for (var i = 0; i < Count; i++)
        {
            Names[i] = Encoding.ASCII.GetBytes(entries[i].Name);
            Values[i] = Encoding.ASCII.GetBytes(entries[i].Value);
        }

        ByNameLength = new int[Names.Max(n => n.Length) + 1][];
        for (var length = 0; length < ByNameLength.Length; length++)
        {
            ByNameLength[length] = Enumerable.Range(0, Count).Where(i => Names[i].Length == length).ToArray();
        }
    }

    public static ReadOnlySpan<byte> GetName(int index) => Names[index - 1];

    public static ReadOnlySpan<byte> GetValue(int index) => Values[index - 1];

    /// <summary>
    /// Looks a field up. Returns the index of an entry matching name and value (0 if none) and sets
    /// <paramref name="nameIndex"/> to the first entry with a matching name (0 if none).
    /// </summary>
    public static int Find(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, out int nameIndex)
    {
        nameIndex = 0;
        if (name.Length >= ByNameLength.Length)
        {
            return 0;
        }

        foreach (var i in ByNameLength[name.Length])
        {
            if (!name.SequenceEqual(Names[i]))
            {
                continue;
            }

            if (nameIndex == 0)
            {
                nameIndex = i + 1;
            }

            if (value.SequenceEqual(Values[i]))
            {
                return i + 1;
            }
        }

        return 0;
    }
}
