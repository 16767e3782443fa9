namespace Containerd.Http2;

/// <summary>
/// Kestrel's Host validation (HttpUtilities.IsHostHeaderValid) applied to an HTTP/2 :authority,
/// except that an empty value counts as invalid here.
/// </summary>
public static class Http2Authority
{
    /// <summary>
    /// True if Kestrel accepts <paramref name="value"/> as a Host: a reg-name of
    /// <c>A-Z a-z 0-9 ! $ &amp; ' ( ) - . _ ~</c>, or a bracketed IPv6 literal, optionally followed by
    /// <c>:</c> and one or more digits. Anything else (a path, spaces, control or non-ASCII bytes) is invalid.
    /// </summary>
    public static bool IsValid(ReadOnlySpan<byte> value)
    {
        if (value.IsEmpty || value[0] == ':')
        {
            return false;
        }

        if (value[0] == '[')
        {
            for (var i = 1; i < value.Length; i++)
            {
                var c = value[i];
                if (c == ']')
                {
                    // "[::1]" is the shortest valid IPv6 host.
                    return i >= 4 && (i + 1 == value.Length || IsPortValid(value[(i + 1)..]));
                }

                if (!IsHexDigit(c) && c != ':' && c != '.')
                {
                    return false;
                }
            }

            return false;
        }

        for (var i = 0; i < value.Length; i++)
        {
            if (!IsHostChar(value[i]))
            {
                return IsPortValid(value[i..]);
            }
        }

        return true;
    }

    // ":" followed by at least one digit and nothing else.
    private static bool IsPortValid(ReadOnlySpan<byte> rest)
    {
        if (rest.Length < 2 || rest[0] != ':')
        {
            return false;
        }

        foreach (var c in rest[1..])
        {
            if (c is < (byte)'0' or > (byte)'9')
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsHostChar(byte c) =>
        c is >= (byte)'a' and <= (byte)'z'
            or >= (byte)'A' and <= (byte)'Z'
            or >= (byte)'0' and <= (byte)'9'
            or (byte)'!' or (byte)'$' or (byte)'&' or (byte)'\'' or (byte)'(' or (byte)')'
            or (byte)'-' or (byte)'.' or (byte)'_' or (byte)'~';

    private static bool IsHexDigit(byte c) =>
        c is >= (byte)'0' and <= (byte)'9' or >= (byte)'a' and <= (byte)'f' or >= (byte)'A' and <= (byte)'F';
}
