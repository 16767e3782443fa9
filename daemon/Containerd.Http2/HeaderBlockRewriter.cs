using Containerd.Http2.Hpack;
using Microsoft.Extensions.Logging;

namespace Containerd.Http2;

/// <summary>
/// Decides, block by block, whether the client's header block can reach the server as sent or must
/// be re-encoded, and re-encodes it. Every block is decoded, even one forwarded unchanged, because
/// the decoder must track the client's dynamic table to read the blocks after it.
/// </summary>
/// <remarks>
/// The first rewrite desynchronises the server's dynamic table from the client's for good (the
/// server never sees the client's insertion of the bad authority). From then on a block that reads
/// the dynamic table is re-encoded with static indexes and literals, which the server decodes the
/// same whatever its table holds; blocks that do not read it still pass unchanged.
/// </remarks>
internal sealed class HeaderBlockRewriter
{
    private readonly AuthorityRule _rule;
    private readonly HpackDecoder _decoder;
    private readonly HpackHeaderList _headers = new();
    private readonly ILogger? _logger;
    private readonly string _connectionId;
    private byte[] _encoded = [];

    /// <param name="headerTableSize">The server's SETTINGS_HEADER_TABLE_SIZE, the client encoder's limit.</param>
    public HeaderBlockRewriter(AuthorityRule rule, int headerTableSize, ILogger? logger = null, string connectionId = "-")
    {
        ArgumentNullException.ThrowIfNull(rule);
        _rule = rule;
        _decoder = new HpackDecoder(headerTableSize);
        _logger = logger;
        _connectionId = connectionId;
    }

    /// <summary>True once the server's dynamic table no longer matches the client's.</summary>
    public bool IsReencoding { get; private set; }

    /// <summary>Number of :authority values replaced so far.</summary>
    public long RewrittenAuthorities { get; private set; }

    /// <summary>
    /// Decodes <paramref name="fragment"/> (a whole header block) and says how to forward it;
    /// <paramref name="encoded"/> is the new block when <see cref="HeaderBlockOutcome.Reencoded"/>,
    /// valid until the next call.
    /// </summary>
    public HeaderBlockOutcome Rewrite(ReadOnlySpan<byte> fragment, out ReadOnlySpan<byte> encoded)
    {
        encoded = default;
        bool decoded;
        try
        {
            decoded = _decoder.TryDecode(fragment, _headers);
        }
        catch (Exception)
        {
            decoded = false; // defensive: treat a decoder fault like undecodable input
        }

        if (!decoded)
        {
            return HeaderBlockOutcome.Undecodable;
        }

        var firstRejected = AuthorityRule.FindFirstRejected(_headers);
        if (firstRejected < 0 && (!IsReencoding || !_headers.ReferencesDynamicTable))
        {
            return HeaderBlockOutcome.Unchanged;
        }

        if (!IsReencoding)
        {
            IsReencoding = true;
            RewriteLog.Started(_logger, _connectionId, _headers.GetValue(firstRejected), _rule.Replacement);
        }

        if (firstRejected >= 0)
        {
            RewrittenAuthorities += _rule.Rewrite(_headers, firstRejected);
        }

        var maxLength = HpackLiteralEncoder.GetMaxEncodedLength(_headers);
        if (_encoded.Length < maxLength)
        {
            _encoded = new byte[Math.Max(maxLength, 2 * _encoded.Length)];
        }

        encoded = _encoded.AsSpan(0, HpackLiteralEncoder.Encode(_headers, _encoded));
        return HeaderBlockOutcome.Reencoded;
    }
}
