using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Containerd.Http2;

/// <summary>The rewriter's one log message, logged once per connection: the first rewrite changes how the rest is forwarded.</summary>
internal static class RewriteLog
{
    private const int MaxAuthorityLength = 256;

    private static readonly Action<ILogger, string, string, string, Exception?> RewriteStarted =
        LoggerMessage.Define<string, string, string>(
            LogLevel.Debug,
            new EventId(1, "Http2AuthorityRewriteStarted"),
            "Connection {ConnectionId}: HTTP/2 client sent :authority \"{Authority}\", which Kestrel rejects; " +
            "rewriting invalid authorities to \"{Replacement}\" and re-encoding header blocks for the rest of the connection");

    public static void Started(ILogger? logger, string connectionId, ReadOnlySpan<byte> authority, string replacement)
    {
        if (logger is not null && logger.IsEnabled(LogLevel.Debug))
        {
            RewriteStarted(logger, connectionId, Printable(authority), replacement, null);
        }
    }

    // The authority is whatever the client sent: keep control bytes and huge values out of the log.
    private static string Printable(ReadOnlySpan<byte> value)
    {
        var builder = new StringBuilder(Math.Min(value.Length, MaxAuthorityLength) + 8);
        foreach (var b in value[..Math.Min(value.Length, MaxAuthorityLength)])
        {
            if (b is >= 0x20 and < 0x7F)
            {
                builder.Append((char)b);
            }
            else
            {
                builder.Append("\\x").Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        if (value.Length > MaxAuthorityLength)
        {
            builder.Append("...");
        }

        return builder.ToString();
    }
}
