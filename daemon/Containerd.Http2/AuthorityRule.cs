using System.Text;
using Containerd.Http2.Hpack;

namespace Containerd.Http2;

/// <summary>
/// Which <c>:authority</c> values are replaced, and with what: those Kestrel's Host validation
/// rejects (see <see cref="Http2Authority"/>) become one fixed, valid authority. Every other field,
/// a valid authority included, is left alone so the request means what the client meant.
/// </summary>
internal sealed class AuthorityRule
{
    private readonly byte[] _replacement;

    /// <exception cref="ArgumentException"><paramref name="replacement"/> would itself be rejected.</exception>
    public AuthorityRule(string replacement)
    {
        ArgumentNullException.ThrowIfNull(replacement);
        _replacement = Encoding.ASCII.GetBytes(replacement);
        if (!Http2Authority.IsValid(_replacement))
        {
            throw new ArgumentException($"Replacement authority '{replacement}' is not a valid host.", nameof(replacement));
        }

        Replacement = replacement;
    }

    public string Replacement { get; }

    /// <summary>The index of the first field that needs rewriting, or -1 if the block can stay as it is.</summary>
    public static int FindFirstRejected(HpackHeaderList headers)
    {
        for (var i = 0; i < headers.Count; i++)
        {
            if (IsRejected(headers, i))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>
    /// Replaces every rejected <c>:authority</c> from <paramref name="start"/> on (a request may repeat
    /// it; Kestrel judges each) and returns how many were replaced.
    /// </summary>
    public int Rewrite(HpackHeaderList headers, int start = 0)
    {
        var rewritten = 0;
        for (var i = Math.Max(start, 0); i < headers.Count; i++)
        {
            if (IsRejected(headers, i))
            {
                headers.SetValue(i, _replacement);
                rewritten++;
            }
        }

        return rewritten;
    }

    private static bool IsRejected(HpackHeaderList headers, int index) =>
        headers.GetName(index).SequenceEqual(":authority"u8) && !Http2Authority.IsValid(headers.GetValue(index));
}
