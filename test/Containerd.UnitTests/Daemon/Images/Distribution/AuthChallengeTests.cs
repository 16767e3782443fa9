using Containerd.Daemon.Images.Distribution;

namespace Containerd.UnitTests.Daemon.Images.Distribution;

public sealed class AuthChallengeTests
{
    [Test]
    public void A_docker_hub_bearer_challenge()
    {
        var challenges = AuthChallenge.Parse("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\",scope=\"repository:library/busybox:pull\"");
        Assert.That(challenges, Has.Count.EqualTo(1));
        Assert.Multiple(() =>
        {
            Assert.That(challenges[0].IsBearer, Is.True);
            Assert.That(challenges[0]["realm"], Is.EqualTo("https://auth.docker.io/token"));
            Assert.That(challenges[0]["SERVICE"], Is.EqualTo("registry.docker.io"), "parameter names are case-insensitive");
            Assert.That(challenges[0]["scope"], Is.EqualTo("repository:library/busybox:pull"));
        });
    }

    [Test]
    public void Several_challenges_unquoted_values_spaces_and_escapes()
    {
        var challenges = AuthChallenge.Parse("Basic realm=\"Registry \\\"x\\\"\" , bearer realm=https://a.example/t, service=svc,error=\"insufficient_scope\"");
        Assert.That(challenges.Select(c => c.Scheme), Is.EqualTo(new[] { "Basic", "bearer" }));
        Assert.Multiple(() =>
        {
            Assert.That(challenges[0].IsBasic, Is.True);
            Assert.That(challenges[0]["realm"], Is.EqualTo("Registry \"x\""));
            Assert.That(challenges[1].IsBearer, Is.True);
            Assert.That(challenges[1]["realm"], Is.EqualTo("https://a.example/t"));
            Assert.That(challenges[1]["service"], Is.EqualTo("svc"));
            Assert.That(challenges[1]["error"], Is.EqualTo("insufficient_scope"));
        });
    }

    [TestCase(null)]
    [TestCase("")]
    [TestCase("   ")]
    public void Nothing_is_no_challenge(string? header) => Assert.That(AuthChallenge.Parse(header), Is.Empty);

    [Test]
    public void A_scheme_without_parameters_and_an_unterminated_quote()
    {
        Assert.That(AuthChallenge.Parse("Negotiate").Single().Parameters, Is.Empty);
        var broken = AuthChallenge.Parse("Bearer realm=\"https://x");
        Assert.That(broken.Single().Scheme, Is.EqualTo("Bearer"));
        Assert.That(broken.Single()["realm"], Is.Null);
    }
}
