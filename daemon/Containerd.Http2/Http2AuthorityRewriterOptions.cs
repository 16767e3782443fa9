using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Containerd.Http2;

/// <summary>Settings of <see cref="Http2AuthorityRewriter"/>; they must match the server's HTTP/2 limits.</summary>
public sealed class Http2AuthorityRewriterOptions
{
    /// <summary>The server's SETTINGS_HEADER_TABLE_SIZE (Kestrel: Limits.Http2.HeaderTableSize, default 4096).</summary>
    public int HeaderTableSize { get; init; } = 4096;

    /// <summary>
    /// The server's SETTINGS_MAX_FRAME_SIZE (Kestrel: Limits.Http2.MaxFrameSize, default 16384). A longer
    /// client frame is a protocol error the server reports itself, so inspection stops there.
    /// </summary>
    public int MaxInboundFrameSize { get; init; } = 16384;

    /// <summary>
    /// Largest payload of a re-encoded HEADERS or CONTINUATION frame. 16384, the protocol's initial
    /// SETTINGS_MAX_FRAME_SIZE, is accepted by every server whatever it advertised.
    /// </summary>
    public int MaxOutboundFrameSize { get; init; } = 16384;

    /// <summary>
    /// Largest header block (all its HEADERS and CONTINUATION frames, as received) that is buffered for
    /// inspection. A longer one ends inspection for the connection and passes through unchanged.
    /// </summary>
    public int MaxHeaderBlockSize { get; init; } = 128 * 1024;

    /// <summary>The authority an invalid one is replaced with.</summary>
    public string ReplacementAuthority { get; init; } = "localhost";

    /// <summary>Options matching a Kestrel server's limits.</summary>
    public static Http2AuthorityRewriterOptions FromLimits(KestrelServerLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        return new Http2AuthorityRewriterOptions
        {
            HeaderTableSize = limits.Http2.HeaderTableSize,
            MaxInboundFrameSize = limits.Http2.MaxFrameSize,
            // Kestrel aborts a connection whose decoded headers exceed twice this limit; an encoded
            // block is rarely larger than its decoded fields, so this bound only trims abuse.
            MaxHeaderBlockSize = (int)Math.Clamp(4L * limits.MaxRequestHeadersTotalSize + 64 * 1024, 128 * 1024, int.MaxValue / 2),
        };
    }
}
