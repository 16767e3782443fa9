using Containerd.Http2;

namespace Containerd.UnitTests.Http2;

/// <summary>The per-block decision, without frames: forward, re-encode or give up.</summary>
public sealed class HeaderBlockRewriterTests
{
    private const string SocketPath = "/run/containerd/containerd.sock";

    private static HeaderBlockRewriter NewRewriter() => new(new AuthorityRule("localhost"), headerTableSize: 4096);

    [Test]
    public void BlocksAreForwardedUntilTheFirstRewriteThenOnlyDynamicReferencesAreReencoded()
    {
        var rewriter = NewRewriter();
        var server = new ReferenceHpackDecoder();

        // A valid authority, indexed by the client: forwarded, the server indexes it too.
        var first = new TestHpackBlock().Indexed(3).Incremental(1, "localhost").ToArray();
        Assert.That(rewriter.Rewrite(first, out _), Is.EqualTo(HeaderBlockOutcome.Unchanged));
        server.Decode(first);

        // The socket path, indexed by the client at 62: rewritten, and the server's table left behind.
        var second = new TestHpackBlock().Indexed(3).Incremental(1, SocketPath).ToArray();
        Assert.That(rewriter.Rewrite(second, out var encoded), Is.EqualTo(HeaderBlockOutcome.Reencoded));
        Assert.That(server.Decode(encoded.ToArray()), Is.EqualTo(new[] { (":method", "POST"), (":authority", "localhost") }));
        Assert.That(rewriter.IsReencoding, Is.True);
        Assert.That(rewriter.RewrittenAuthorities, Is.EqualTo(1));

        // Index 62 is the socket path for the client; re-encoded, the server never reads its own 62.
        var third = new TestHpackBlock().Indexed(3).Indexed(62).ToArray();
        Assert.That(rewriter.Rewrite(third, out encoded), Is.EqualTo(HeaderBlockOutcome.Reencoded));
        Assert.That(server.Decode(encoded.ToArray()), Is.EqualTo(new[] { (":method", "POST"), (":authority", "localhost") }));
        Assert.That(rewriter.RewrittenAuthorities, Is.EqualTo(2));

        // No dynamic reference, nothing to rewrite: the client's bytes mean the same to the server.
        var fourth = new TestHpackBlock().Indexed(3).WithoutIndexing(1, "localhost").ToArray();
        Assert.That(rewriter.Rewrite(fourth, out _), Is.EqualTo(HeaderBlockOutcome.Unchanged));
    }

    [Test]
    public void AnUndecodableBlockIsReportedNotRepaired()
    {
        var rewriter = NewRewriter();
        Assert.That(rewriter.Rewrite([0xBF], out _), Is.EqualTo(HeaderBlockOutcome.Undecodable), "index 63, the dynamic table is empty");
        Assert.That(rewriter.IsReencoding, Is.False);
    }
}
