using System.Text;
using Containerd.Http2;
using Containerd.Http2.Hpack;

namespace Containerd.UnitTests.Http2;

/// <summary>The rewrite rule alone: which fields change, and to what, without frames or HPACK state.</summary>
public sealed class AuthorityRuleTests
{
    private static HpackHeaderList Headers(params (string Name, string Value)[] fields)
    {
        var headers = new HpackHeaderList();
        foreach (var (name, value) in fields)
        {
            headers.Add(Encoding.Latin1.GetBytes(name), Encoding.Latin1.GetBytes(value), neverIndexed: name == ":authority");
        }

        return headers;
    }

    private static List<(string, string)> Fields(HpackHeaderList headers) =>
        Enumerable.Range(0, headers.Count).Select(i => (headers.GetNameString(i), headers.GetValueString(i))).ToList();

    [Test]
    public void OnlyAuthoritiesKestrelRejectsAreReplaced()
    {
        var headers = Headers(
            (":method", "POST"),
            (":authority", "/run/containerd/containerd.sock"),
            ("x-authority", "/not/an/authority"),
            (":authority", "127.0.0.1:10010"),
            (":authority", ""));
        var rule = new AuthorityRule("localhost");

        Assert.That(AuthorityRule.FindFirstRejected(headers), Is.EqualTo(1));
        Assert.That(rule.Rewrite(headers), Is.EqualTo(2));
        Assert.That(Fields(headers), Is.EqualTo(new[]
        {
            (":method", "POST"),
            (":authority", "localhost"),
            ("x-authority", "/not/an/authority"),
            (":authority", "127.0.0.1:10010"),
            (":authority", "localhost"),
        }));
        Assert.That(headers.IsNeverIndexed(1), Is.True, "the representation is kept, only the value changes");
        Assert.That(AuthorityRule.FindFirstRejected(headers), Is.EqualTo(-1), "nothing left to rewrite");
    }

    [Test]
    public void ValidAuthoritiesNeedNoRewrite()
    {
        var headers = Headers((":authority", "localhost"), (":authority", "[::1]:8080"), (":path", "/a b"));
        var rule = new AuthorityRule("example.com:80");

        Assert.That(AuthorityRule.FindFirstRejected(headers), Is.EqualTo(-1));
        Assert.That(rule.Rewrite(headers), Is.Zero);
        Assert.That(Fields(headers), Is.EqualTo(new[] { (":authority", "localhost"), (":authority", "[::1]:8080"), (":path", "/a b") }));
    }

    [TestCase("")]
    [TestCase("/run/containerd/containerd.sock")]
    [TestCase("local host")]
    public void AReplacementKestrelWouldRejectIsRefused(string replacement) =>
        Assert.Throws<ArgumentException>(() => _ = new AuthorityRule(replacement));
}
