using System.Text;

namespace Containerd.Daemon.Images.Distribution;

/// <summary>
/// One challenge of a <c>WWW-Authenticate</c> header (RFC 7235): a scheme and
/// its parameters, e.g. <c>Bearer realm="https://auth.example/token",service="registry",scope="repository:x:pull"</c>.
/// Parameter names are case-insensitive; values are unquoted and unescaped.
/// </summary>
public sealed record AuthChallenge(string Scheme, IReadOnlyDictionary<string, string> Parameters)
{
    public bool IsBearer => Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase);

    public bool IsBasic => Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase);

    public string? this[string name] => Parameters.TryGetValue(name, out var value) ? value : null;

    /// <summary>
    /// Every challenge in one header value. A header may hold several, comma
    /// separated like the parameters (<c>Basic realm="r", Bearer realm="t"</c>):
    /// a token not followed by <c>=</c> starts the next challenge. Malformed
    /// tails are dropped rather than thrown: the caller then reports "no usable challenge".
    /// </summary>
    public static IReadOnlyList<AuthChallenge> Parse(string? header)
    {
        var challenges = new List<AuthChallenge>();
        if (string.IsNullOrWhiteSpace(header))
            return challenges;
        var position = 0;
        string? scheme = null;
        var parameters = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        while (true)
        {
            SkipSeparators(header, ref position);
            if (position >= header.Length)
                break;
            var token = ReadToken(header, ref position);
            if (token.Length == 0)
                break; // not a token character: malformed; keep what was read
            SkipSpaces(header, ref position);
            if (position < header.Length && header[position] == '=' && scheme is not null)
            {
                position++;
                SkipSpaces(header, ref position);
                var value = position < header.Length && header[position] == '"'
                    ? ReadQuoted(header, ref position)
                    : ReadToken(header, ref position);
                if (value is null)
                    break;
                parameters[token] = value;
                continue;
            }
            // token68 (Basic's base64 blob) or a new scheme.
            if (scheme is not null)
                challenges.Add(new AuthChallenge(scheme, parameters));
            scheme = token;
            parameters = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        }
        if (scheme is not null)
            challenges.Add(new AuthChallenge(scheme, parameters));
        return challenges;
    }

    private static void SkipSpaces(string text, ref int position)
    {
        while (position < text.Length && text[position] is ' ' or '\t')
            position++;
    }

    private static void SkipSeparators(string text, ref int position)
    {
        while (position < text.Length && text[position] is ' ' or '\t' or ',')
            position++;
    }

    // RFC 7230 tchar.
    private static bool IsTokenChar(char c) =>
        char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~/:".Contains(c);

    private static string ReadToken(string text, ref int position)
    {
        var start = position;
        while (position < text.Length && IsTokenChar(text[position]))
            position++;
        return text[start..position];
    }

    private static string? ReadQuoted(string text, ref int position)
    {
        var value = new StringBuilder();
        position++; // opening quote
        while (position < text.Length)
        {
            var c = text[position++];
            if (c == '"')
                return value.ToString();
            if (c == '\\' && position < text.Length)
                c = text[position++];
            value.Append(c);
        }
        return null; // unterminated
    }
}
