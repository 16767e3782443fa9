using System.Formats.Tar;
using System.IO.Compression;
using System.Net;
using System.Text.Json.Nodes;
using Containerd.Tests.Support;

namespace Containerd.Tests.Integration;

/// <summary>
/// The registry fixture itself: what the pull tests rely on is really in the registries, as the
/// <see cref="TestImage"/> facts say. No daemon here.
/// </summary>
[TestFixture]
[CancelAfter(120_000)]
public sealed class RegistryFixtureTests
{
    private TestImages _images = null!;

    [OneTimeSetUp]
    public async Task BuildAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        _images = await TestImages.GetAsync(timeout.Token);
        TestContext.Progress.WriteLine($"images built in {_images.BuildTime.TotalSeconds:F1} s, pushed in {_images.PushTime.TotalSeconds:F1} s");
    }

    [Test]
    public async Task CatalogListsEveryRepositoryInEveryRegistryAsync(CancellationToken cancellationToken)
    {
        foreach (var registry in _images.Registries)
        {
            using var client = registry.CreateHttpClient();
            var catalog = JsonNode.Parse(await client.GetStringAsync("v2/_catalog", cancellationToken))!;
            var repositories = catalog["repositories"]!.AsArray().Select(r => (string)r!).ToList();
            Assert.That(repositories, Is.EquivalentTo(_images.All.Select(i => i.Name)), registry.Kind.ToString());
        }
    }

    [Test]
    public async Task ManifestsAreServedAsPushedWithTheirDigestAsync(CancellationToken cancellationToken)
    {
        foreach (var registry in _images.Registries)
        {
            using var client = registry.CreateHttpClient();
            foreach (var image in _images.All)
            {
                var (mediaType, digestHeader, body) = await GetManifestAsync(client, image.Name, image.Tag, cancellationToken);
                var what = $"{registry.Kind} {image.Name}";
                Assert.Multiple(() =>
                {
                    Assert.That(mediaType, Is.EqualTo(image.MediaType), what);
                    Assert.That(digestHeader, Is.EqualTo(OciLayout.Sha256(body)), what + ": Docker-Content-Digest is the body's sha256");
                    Assert.That(digestHeader, Is.EqualTo(image.ManifestDigest), what + ": the manifest pushed is the one built");
                    Assert.That(body.LongLength, Is.EqualTo(image.ManifestSize), what);
                });
            }
        }
    }

    [Test]
    public void ImagesHaveTheExpectedShape()
    {
        Assert.Multiple(() =>
        {
            var busybox = _images.Busybox;
            Assert.That(busybox.MediaType, Is.EqualTo(OciMediaTypes.Manifest));
            Assert.That(busybox.Layers.Select(l => l.MediaType), Is.EqualTo(new[] { OciMediaTypes.LayerGzip }));
            Assert.That(busybox.Config!.Cmd, Is.EqualTo(new[] { "sh" }));
            Assert.That(busybox.Config.Env, Has.Some.StartsWith("PATH="));
            Assert.That(busybox.Config.WorkingDir, Is.EqualTo("/root"));
            Assert.That(busybox.Config.Os, Is.EqualTo("linux"));

            var layered = _images.Layered;
            Assert.That(layered.Layers, Has.Count.EqualTo(3));
            Assert.That(layered.Config!.User, Is.EqualTo("1000:1000"));
            Assert.That(layered.Config.WorkingDir, Is.EqualTo("/data"));
            Assert.That(layered.Config.Env, Does.Contain("LAYERED=1"));

            var uncompressed = _images.Uncompressed.Layers.Single();
            Assert.That(uncompressed.MediaType, Is.EqualTo(OciMediaTypes.LayerTar));
            Assert.That(uncompressed.Digest, Is.EqualTo(uncompressed.DiffId), "a plain tar's digest is its diff id");
            Assert.That(uncompressed.DiffId, Is.EqualTo(busybox.Layers[0].DiffId));

            Assert.That(_images.DockerV2S2.MediaType, Is.EqualTo(OciMediaTypes.DockerManifest));
            Assert.That(_images.DockerV2S2.Layers.Select(l => l.MediaType), Is.EqualTo(new[] { OciMediaTypes.DockerLayerGzip }));
            Assert.That(_images.DockerV2S2.ConfigDigest, Is.EqualTo(busybox.ConfigDigest), "skopeo keeps the config blob");

            Assert.That(_images.Hostile.Layers, Has.Count.EqualTo(2));
            Assert.That(_images.Opaque.Layers, Has.Count.EqualTo(3));

            var zstd = _images.Zstd.Layers.Single();
            Assert.That(zstd.MediaType, Is.EqualTo(OciMediaTypes.LayerZstd));
            Assert.That(zstd.DiffId, Is.EqualTo(busybox.Layers[0].DiffId));
            Assert.That(_images.Parents.Layers, Has.Count.EqualTo(3));
        });
    }

    [Test]
    public async Task LayeredLayersHoldWhiteoutsHardLinksAndOwnersAsync(CancellationToken cancellationToken)
    {
        using var client = _images.Plain.CreateHttpClient();
        var layers = new List<List<TarEntry>>();
        foreach (var layer in _images.Layered.Layers)
            layers.Add(await ReadLayerAsync(client, "layered", layer, cancellationToken));
        var upper = layers[1].ToDictionary(e => e.Name.TrimStart('.', '/'));
        var top = layers[2].ToDictionary(e => e.Name.TrimStart('.', '/'));
        Assert.Multiple(() =>
        {
            Assert.That(layers[0].Select(e => e.Name.TrimStart('.', '/')), Does.Contain("data/gone").And.Contain("data/dir/old").And.Contain("bin/busybox"));
            Assert.That(upper.Keys, Does.Contain("data/.wh.gone"), "a deleted file is a whiteout");
            Assert.That(upper.Keys, Does.Contain("data/dir/.wh.old"), "umoci whites out each old entry of an emptied directory");
            Assert.That(upper.Keys, Does.Not.Contain("data/dir/.wh..wh..opq"), "umoci 0.4.7 writes no opaque marker");
            Assert.That(upper["data/h2"].EntryType, Is.EqualTo(TarEntryType.HardLink));
            Assert.That(upper["data/h2"].LinkName.TrimStart('.', '/'), Is.EqualTo("data/h1"));
            Assert.That(top["data/secret"].Mode, Is.EqualTo(LayeredImage.SecretMode));
            Assert.That(top["data/secret"].Uid, Is.EqualTo(LayeredImage.SecretOwner));
            Assert.That(top["data/secret"].Gid, Is.EqualTo(LayeredImage.SecretOwner));
        });
    }

    [Test]
    public async Task AuthRegistryWantsCredentialsAsync(CancellationToken cancellationToken)
    {
        using var anonymous = _images.Auth.CreateHttpClient(withCredentials: false);
        using var authorized = _images.Auth.CreateHttpClient();
        using var denied = await anonymous.GetAsync($"v2/busybox/manifests/{_images.Busybox.Tag}", cancellationToken);
        using var allowed = await authorized.GetAsync("v2/", cancellationToken);
        Assert.Multiple(() =>
        {
            Assert.That(denied.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(denied.Headers.WwwAuthenticate.Select(h => h.Scheme), Does.Contain("Basic"));
            Assert.That(allowed.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        });
    }

    [Test]
    public async Task TlsRegistryAnswersOverHttpsWithItsCertificateOnlyAsync(CancellationToken cancellationToken)
    {
        Assert.That(_images.Tls.BaseUri.Scheme, Is.EqualTo("https"));
        Assert.That(File.Exists(_images.Tls.CertificatePath), Is.True);
        using var trusting = _images.Tls.CreateHttpClient();
        using var ok = await trusting.GetAsync("v2/", cancellationToken);
        Assert.That(ok.StatusCode, Is.EqualTo(HttpStatusCode.OK));

        // A client that trusts only the system's roots refuses the self-signed certificate.
        using var plainClient = new HttpClient { BaseAddress = _images.Tls.BaseUri };
        Assert.ThrowsAsync<HttpRequestException>(() => plainClient.GetAsync("v2/", cancellationToken));
    }

    [Test]
    public async Task MultiarchIndexListsTwoPlatformsAsync(CancellationToken cancellationToken)
    {
        var index = _images.Multiarch;
        Assert.That(index.MediaType, Is.EqualTo(OciMediaTypes.Index));
        Assert.That(index.Platforms.Select(p => $"{p.Os}/{p.Architecture}"), Is.EqualTo(new[] { "linux/amd64", "linux/arm64" }));
        Assert.That(index.Platforms[0].Image.ManifestDigest, Is.EqualTo(_images.Busybox.ManifestDigest));
        Assert.That(index.Platforms[1].Image.Config!.Architecture, Is.EqualTo("arm64"));
        Assert.That(index.Platforms[1].Image.Layers, Is.EqualTo(_images.Busybox.Layers));

        using var client = _images.Plain.CreateHttpClient();
        foreach (var platform in index.Platforms)
        {
            var (mediaType, digest, _) = await GetManifestAsync(client, index.Name, platform.Image.ManifestDigest, cancellationToken);
            Assert.That((mediaType, digest), Is.EqualTo((OciMediaTypes.Manifest, platform.Image.ManifestDigest)));
        }
    }

    [Test]
    public async Task HostileLayerIsServedAsWrittenAsync(CancellationToken cancellationToken)
    {
        var layer = _images.Hostile.Layers[^1];
        using var client = _images.Plain.CreateHttpClient();
        var blob = await client.GetByteArrayAsync($"v2/hostile/blobs/{layer.Digest}", cancellationToken);
        var tar = TestImagesLayers.Gunzip(blob);
        Assert.Multiple(() =>
        {
            Assert.That(OciLayout.Sha256(blob), Is.EqualTo(layer.Digest));
            Assert.That(blob.LongLength, Is.EqualTo(layer.Size));
            Assert.That(OciLayout.Sha256(tar), Is.EqualTo(layer.DiffId));
        });
        var entries = await ReadLayerAsync(client, "hostile", layer, cancellationToken);
        Assert.That(entries.Select(e => (e.EntryType, e.Name, e.LinkName)), Is.EqualTo(new[]
        {
            (TarEntryType.RegularFile, "../../escape-file", ""),
            (TarEntryType.RegularFile, "/abs-file", ""),
            (TarEntryType.SymbolicLink, "evil", "/"),
            (TarEntryType.RegularFile, "evil/owned-by-layer", ""),
            (TarEntryType.HardLink, "hostile-hardlink", "/etc/hostname"),
        }));
    }

    [Test]
    public async Task OpaqueLayerHasTheOpaqueMarkerAsync(CancellationToken cancellationToken)
    {
        using var client = _images.Plain.CreateHttpClient();
        var entries = await ReadLayerAsync(client, "opaque", _images.Opaque.Layers[^1], cancellationToken);
        Assert.That(entries.Select(e => e.Name), Is.EqualTo(new[] { "opq/", "opq/.wh..wh..opq", "opq/new" }));
    }

    private static async Task<(string MediaType, string Digest, byte[] Body)> GetManifestAsync(HttpClient client, string name, string reference, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"v2/{name}/manifests/{reference}");
        foreach (var type in OciMediaTypes.AllManifests)
            request.Headers.Accept.ParseAdd(type);
        using var response = await client.SendAsync(request, cancellationToken);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), $"{name}:{reference}");
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        return (response.Content.Headers.ContentType!.MediaType!, response.Headers.GetValues("Docker-Content-Digest").Single(), body);
    }

    private static async Task<List<TarEntry>> ReadLayerAsync(HttpClient client, string name, TestImageLayer layer, CancellationToken cancellationToken)
    {
        var blob = await client.GetByteArrayAsync($"v2/{name}/blobs/{layer.Digest}", cancellationToken);
        Stream stream = new MemoryStream(blob);
        if (layer.MediaType.EndsWith("gzip", StringComparison.Ordinal))
            stream = new GZipStream(stream, CompressionMode.Decompress);
        await using var reader = new TarReader(stream);
        var entries = new List<TarEntry>();
        while (await reader.GetNextEntryAsync(copyData: false, cancellationToken) is { } entry)
            entries.Add(entry);
        return entries;
    }
}
