using Containerd.Daemon.Content;
using Containerd.Daemon.Images.Distribution;
using Containerd.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Containerd.Tests.Integration;

/// <summary>
/// The daemon's puller (compiled in) against Debian's docker-registry: plain HTTP, basic
/// auth and self-signed TLS, with the images <see cref="TestImages"/> built by umoci and
/// pushed by skopeo. What lands in the content store must be exactly what was pushed.
/// </summary>
[TestFixture]
[CancelAfter(180_000)]
public sealed class PullTests
{
    private TestImages _images = null!;
    private DirectoryInfo _root = null!;
    private ContentStore _store = null!;
    private RegistryHttpClients _clients = null!;

    [OneTimeSetUp]
    public async Task BuildAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        _images = await TestImages.GetAsync(timeout.Token);
    }

    [SetUp]
    public void SetUp()
    {
        _root = Directory.CreateTempSubdirectory("pull-it-");
        _store = new ContentStore(Path.Combine(_root.FullName, "content"));
        _clients = new RegistryHttpClients(TimeSpan.FromSeconds(10));
    }

    [TearDown]
    public void TearDown()
    {
        _clients.Dispose();
        _root.Delete(recursive: true);
    }

    /// <summary>A puller whose certs.d holds <paramref name="hostsToml"/> for <paramref name="registry"/>.</summary>
    private ImagePuller Puller(TestRegistry? registry = null, string? hostsToml = null)
    {
        var certs = Path.Combine(_root.FullName, "certs.d");
        if (registry is not null && hostsToml is not null)
        {
            Directory.CreateDirectory(Path.Combine(certs, registry.Host));
            File.WriteAllText(Path.Combine(certs, registry.Host, RegistryHosts.HostsFileName), hostsToml);
        }
        return new ImagePuller(_store, new RegistryHosts(certs), _clients, NullLogger<ImagePuller>.Instance);
    }

    private static PullOptions Plain => new(PlainHttp: true);

    private void AssertPulledAsPushed(PulledImage pulled, TestImage image, string what)
    {
        Assert.Multiple(() =>
        {
            Assert.That(pulled.Manifest.Digest, Is.EqualTo(image.ManifestDigest), what);
            Assert.That(pulled.Manifest.MediaType, Is.EqualTo(image.MediaType), what);
            Assert.That(pulled.Config.Digest, Is.EqualTo(image.ConfigDigest), what);
            Assert.That(pulled.Layers.Select(l => (l.MediaType, l.Digest, l.Size)), Is.EqualTo(image.Layers.Select(l => (l.MediaType, l.Digest, l.Size))), what);
            Assert.That(pulled.DiffIds, Is.EqualTo(image.Layers.Select(l => l.DiffId)), what);
            foreach (var blob in pulled.Layers.Append(pulled.Config).Append(pulled.Manifest).Append(pulled.Target))
                Assert.That(_store.Info(blob.Digest)?.Size, Is.EqualTo(blob.Size), $"{what}: {blob.Digest} in the store");
        });
    }

    [Test]
    public async Task Every_single_platform_image_pulls_as_pushed_over_plain_http(CancellationToken cancellationToken)
    {
        foreach (var image in _images.All.Where(i => i.Platforms.Count == 0))
        {
            var pulled = await Puller().PullAsync(image.Reference(_images.Plain), Plain, cancellationToken);
            Assert.That(pulled.Name, Is.EqualTo(image.Reference(_images.Plain)));
            Assert.That(pulled.Target.Digest, Is.EqualTo(image.ManifestDigest));
            AssertPulledAsPushed(pulled, image, image.Name);
        }
    }

    [Test]
    public async Task The_multiarch_index_resolves_per_platform(CancellationToken cancellationToken)
    {
        var index = _images.Multiarch;
        foreach (var platform in index.Platforms)
        {
            var pulled = await Puller().PullAsync(index.Reference(_images.Plain), Plain with { Platform = $"{platform.Os}/{platform.Architecture}" }, cancellationToken);
            Assert.That(pulled.Target.Digest, Is.EqualTo(index.ManifestDigest));
            Assert.That(pulled.Target.MediaType, Is.EqualTo(index.MediaType));
            AssertPulledAsPushed(pulled, platform.Image, $"multiarch {platform.Architecture}");
        }
    }

    [Test]
    public async Task By_digest_and_a_second_pull_downloads_no_blob(CancellationToken cancellationToken)
    {
        var image = _images.Layered;
        var first = await Puller().PullAsync(image.DigestReference(_images.Plain), Plain, cancellationToken);
        AssertPulledAsPushed(first, image, "by digest");

        var phases = new List<PullProgress>();
        var progress = new SynchronousProgress(phases);
        await Puller().PullAsync(image.Reference(_images.Plain), Plain with { Progress = progress }, cancellationToken);
        var final = phases.Where(p => p.Phase is PullPhase.Exists or PullPhase.Done).ToList();
        Assert.That(final.Select(p => p.Phase), Has.All.EqualTo(PullPhase.Exists));
        Assert.That(final, Has.Count.EqualTo(image.Layers.Count + 1));
    }

    [Test]
    public async Task The_auth_registry_needs_its_credentials(CancellationToken cancellationToken)
    {
        var image = _images.Busybox;
        var anonymous = Assert.ThrowsAsync<RegistryException>(() => Puller().PullAsync(image.Reference(_images.Auth), Plain, cancellationToken));
        var wrong = Assert.ThrowsAsync<RegistryException>(() =>
            Puller().PullAsync(image.Reference(_images.Auth), Plain with { Credentials = new(TestRegistry.Username, "wrong") }, cancellationToken));
        TestContext.Progress.WriteLine($"anonymous: {anonymous!.Message}\nwrong password: {wrong!.Message}");
        Assert.That(anonymous.Kind, Is.EqualTo(RegistryErrorKind.Unauthorized), anonymous.Message);
        Assert.That(wrong.Kind, Is.EqualTo(RegistryErrorKind.Unauthorized), wrong.Message);

        var pulled = await Puller().PullAsync(image.Reference(_images.Auth),
            Plain with { Credentials = new(TestRegistry.Username, TestRegistry.Password) }, cancellationToken);
        AssertPulledAsPushed(pulled, image, "auth");
    }

    [Test]
    public async Task The_tls_registry_needs_its_ca_or_skip_verify(CancellationToken cancellationToken)
    {
        var image = _images.Busybox;
        var registry = _images.Tls;
        var untrusted = Assert.ThrowsAsync<RegistryException>(() => Puller().PullAsync(image.Reference(registry), new PullOptions(), cancellationToken));
        TestContext.Progress.WriteLine($"untrusted: {untrusted!.Message}");
        Assert.That(untrusted.Kind, Is.EqualTo(RegistryErrorKind.Tls), untrusted.Message);
        Assert.That(untrusted.Message, Does.Contain(registry.Host));

        var pulled = await Puller(registry, $"ca = \"{registry.CertificatePath}\"").PullAsync(image.Reference(registry), new PullOptions(), cancellationToken);
        AssertPulledAsPushed(pulled, image, "tls with ca");

        _store.Delete(image.Layers[0].Digest);
        pulled = await Puller(registry, "skip_verify = true").PullAsync(image.Reference(registry), new PullOptions(), cancellationToken);
        AssertPulledAsPushed(pulled, image, "tls with skip_verify");
    }

    [Test]
    public void An_unknown_tag_and_an_unknown_repository_are_not_found(CancellationToken cancellationToken)
    {
        var tag = Assert.ThrowsAsync<RegistryException>(() => Puller().PullAsync(_images.Plain.Reference("busybox:no-such-tag"), Plain, cancellationToken));
        var repository = Assert.ThrowsAsync<RegistryException>(() => Puller().PullAsync(_images.Plain.Reference("no/such/repo:latest"), Plain, cancellationToken));
        TestContext.Progress.WriteLine($"tag: {tag!.Message}\nrepository: {repository!.Message}");
        Assert.Multiple(() =>
        {
            Assert.That(tag.Kind, Is.EqualTo(RegistryErrorKind.NotFound), tag.Message);
            Assert.That(tag.Message, Does.Contain("busybox:no-such-tag").And.Contain("404"));
            Assert.That(repository.Kind, Is.EqualTo(RegistryErrorKind.NotFound), repository.Message);
        });
    }

    private sealed class SynchronousProgress(List<PullProgress> reports) : IProgress<PullProgress>
    {
        public void Report(PullProgress value)
        {
            lock (reports)
                reports.Add(value);
        }
    }
}
