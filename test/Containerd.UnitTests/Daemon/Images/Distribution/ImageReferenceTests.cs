using Containerd.Daemon.Images.Distribution;

namespace Containerd.UnitTests.Daemon.Images.Distribution;

/// <summary>Docker's normalisation rules (distribution/reference's ParseNormalizedNamed), as ctr and containerd apply them.</summary>
public sealed class ImageReferenceTests
{
    private const string Hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    [TestCase("busybox", "docker.io", "library/busybox", "latest", null, "docker.io/library/busybox:latest")]
    [TestCase("busybox:1.36", "docker.io", "library/busybox", "1.36", null, "docker.io/library/busybox:1.36")]
    [TestCase("library/busybox", "docker.io", "library/busybox", "latest", null, "docker.io/library/busybox:latest")]
    [TestCase("user/app", "docker.io", "user/app", "latest", null, "docker.io/user/app:latest")]
    [TestCase("docker.io/busybox", "docker.io", "library/busybox", "latest", null, "docker.io/library/busybox:latest")]
    [TestCase("index.docker.io/user/app:v2", "docker.io", "user/app", "v2", null, "docker.io/user/app:v2")]
    [TestCase("localhost/app", "localhost", "app", "latest", null, "localhost/app:latest")]
    [TestCase("localhost:5000/x", "localhost:5000", "x", "latest", null, "localhost:5000/x:latest")]
    [TestCase("127.0.0.1:5000/team/app:v1", "127.0.0.1:5000", "team/app", "v1", null, "127.0.0.1:5000/team/app:v1")]
    [TestCase("ghcr.io/a/b/c:tag_1.2-rc", "ghcr.io", "a/b/c", "tag_1.2-rc", null, "ghcr.io/a/b/c:tag_1.2-rc")]
    [TestCase("Example/app", "docker.io", "Example/app", "latest", null, null)] // upper case first part is not a host (then rejected below)
    public void Normalises(string text, string registry, string repository, string? tag, string? digest, string? full)
    {
        if (full is null)
        {
            Assert.That(ImageReference.TryParse(text, out _, out _), Is.False);
            return;
        }
        var reference = ImageReference.Parse(text);
        Assert.That(reference, Is.EqualTo(new ImageReference(registry, repository, tag, digest)));
        Assert.That(reference.ToString(), Is.EqualTo(full));
        Assert.That(ImageReference.Parse(reference.ToString()), Is.EqualTo(reference), "normalised names parse to themselves");
    }

    [Test]
    public void A_digest_alone_leaves_no_tag_and_is_what_is_resolved()
    {
        var reference = ImageReference.Parse($"localhost:5000/x@sha256:{Hex}");
        Assert.That(reference, Is.EqualTo(new ImageReference("localhost:5000", "x", null, "sha256:" + Hex)));
        Assert.That(reference.ManifestReference, Is.EqualTo("sha256:" + Hex));
        Assert.That(reference.ToString(), Is.EqualTo($"localhost:5000/x@sha256:{Hex}"));
    }

    [Test]
    public void A_tag_and_digest_keep_both_and_the_digest_wins()
    {
        var reference = ImageReference.Parse($"x:tag@sha256:{Hex}");
        Assert.That(reference, Is.EqualTo(new ImageReference("docker.io", "library/x", "tag", "sha256:" + Hex)));
        Assert.That(reference.ManifestReference, Is.EqualTo("sha256:" + Hex));
        Assert.That(reference.ToString(), Is.EqualTo($"docker.io/library/x:tag@sha256:{Hex}"));
    }

    [TestCase("", "empty")]
    [TestCase(" busybox", "white space")]
    [TestCase("Busybox", "lowercase")]
    [TestCase("docker.io/Library/busybox", "lowercase")]
    [TestCase("busybox:", "tag")]
    [TestCase("busybox:-x", "tag")]
    [TestCase("busybox@sha256:abc", "digest")]
    [TestCase("busybox@md5:0123", "digest")]
    [TestCase(Hex, "image id")]
    [TestCase("a//b", "repository name")]
    [TestCase("a/b/", "repository name")]
    [TestCase("-a/b", "repository name")]
    [TestCase("host:port:x/a", "registry host")]
    [TestCase("localhost:5000/", "empty repository")]
    public void Refuses(string text, string reason)
    {
        var e = Assert.Throws<RegistryException>(() => ImageReference.Parse(text));
        Assert.That(e!.Kind, Is.EqualTo(RegistryErrorKind.InvalidReference));
        Assert.That(e.Message, Does.Contain(reason));
    }

    [Test]
    public void Refuses_a_name_over_255_characters() =>
        Assert.That(ImageReference.TryParse("example.com/" + new string('a', 250), out _, out var error) ? "" : error, Does.Contain("255"));
}
