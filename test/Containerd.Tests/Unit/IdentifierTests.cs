using Containerd.Shared.Identifiers;

namespace Containerd.Tests.Unit;

public sealed class IdentifierTests
{
    [TestCase("a")]
    [TestCase("web-1")]
    [TestCase("a.b_c-d")]
    [TestCase("K8s.io")]
    public void AcceptsValidIds(string id) => Assert.That(Identifier.Problem("id", id), Is.Null);

    [TestCase("")]
    [TestCase("-a")]
    [TestCase("a-")]
    [TestCase("a--b")]
    [TestCase("a/b")]
    [TestCase("../x")]
    [TestCase("a b")]
    [TestCase(".")]
    public void RejectsInvalidIds(string id) => Assert.That(Identifier.Problem("id", id), Is.Not.Null);

    [Test]
    public void LengthLimitIs76()
    {
        Assert.That(Identifier.IsValid(new string('a', 76)), Is.True);
        Assert.That(Identifier.Problem("id", new string('a', 77)), Does.Contain("76"));
    }
}
