using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace Containerd.Http2;

/// <summary>Wiring of <see cref="Http2AuthorityRewriter"/> into a Kestrel listener.</summary>
public static class AuthorityRewriteExtensions
{
    /// <summary>
    /// Adds a connection middleware that rewrites HTTP/2 request <c>:authority</c> values Kestrel would
    /// reject (for example a unix socket path, as grpc-go clients send) to <c>localhost</c>.
    /// Add it after any TLS middleware (<c>UseHttps</c>) so it sees plaintext HTTP/2. Connections that do
    /// not start with the HTTP/2 preface pass through unchanged.
    /// </summary>
    public static ListenOptions UseAuthorityRewrite(this ListenOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        Http2AuthorityRewriterOptions? settings = null;
        options.Use(next => async connection =>
        {
            // Read the limits when the server runs, after all configuration has been applied.
            settings ??= Http2AuthorityRewriterOptions.FromLimits(options.KestrelServerOptions.Limits);
            var original = connection.Transport;
            var transport = AuthorityRewritingTransport.Create(connection, settings, logger);
            connection.Transport = transport;
            try
            {
                await next(connection).ConfigureAwait(false);
            }
            finally
            {
                connection.Transport = original;
                await transport.DisposeAsync().ConfigureAwait(false);
            }
        });
        return options;
    }
}
