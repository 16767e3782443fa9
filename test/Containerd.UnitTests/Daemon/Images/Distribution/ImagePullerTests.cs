using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Containerd.Daemon.Content;
using Containerd.Daemon.Images.Distribution;
using Microsoft.Extensions.Logging.Abstractions;

namespace Containerd.UnitTests.Daemon.Images.Distribution;

/// <summary>
/// The puller against <see cref="FakeRegistry"/>: resolution, platform choice, auth
/// flows, redirects, verification and resume from the content store.
/// </summary>
[NonParallelizable]
public sealed class ImagePullerTests
{
    private DirectoryInfo _root = null!;
    private ContentStore _store = null!;
    private RegistryHttpClients _clients = null!;
    private FakeRegistry _registry = null!;

    [SetUp]
    public async Task SetUp()
    {
        _root = Directory.CreateTempSubdirectory("pull-");
        _store = new ContentStore(_root.FullName);
        _clients = new RegistryHttpClients(TimeSpan.FromSeconds(5));
        _registry = await FakeRegistry.StartAsync();
    }

    [TearDown]
    public async Task TearDown()
    {
        await _registry.DisposeAsync();
        _clients.Dispose();
        _root.Delete(recursive: true);
    }

    private ImagePuller Puller(string? hostsDirectory = null) =>
        new(_store, new RegistryHosts(hostsDirectory), _clients, NullLogger<ImagePuller>.Instance);

    private static PullOptions Plain(IProgress<PullProgress>? progress = null, RegistryCredentials? credentials = null, string? platform = null) =>
        new(PlainHttp: true, Credentials: credentials, Progress: progress, Platform: platform);

    [Test]
    public async Task An_OCI_image_by_tag_lands_in_the_store_with_its_diff_ids()
    {
        var image = TestImages.AddImage(_registry, "team/app", layerCount: 3);
        _registry.AddManifest("team/app", DistributionMediaTypes.OciManifest, image.Manifest, tag: "v1");
        var progress = new RecordingProgress();

        var pulled = await Puller().PullAsync($"{_registry.Host}/team/app:v1", Plain(progress), CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(pulled.Name, Is.EqualTo($"{_registry.Host}/team/app:v1"));
            Assert.That(pulled.Target.Digest, Is.EqualTo(image.ManifestDigest));
            Assert.That(pulled.Target.MediaType, Is.EqualTo(DistributionMediaTypes.OciManifest));
            Assert.That(pulled.Target.Size, Is.EqualTo(image.Manifest.Length));
            Assert.That(pulled.Manifest, Is.EqualTo(pulled.Target));
            Assert.That(pulled.Config.Digest, Is.EqualTo(image.ConfigDigest));
            Assert.That(pulled.Config.MediaType, Is.EqualTo(DistributionMediaTypes.OciConfig));
            Assert.That(pulled.Layers.Select(l => l.Digest), Is.EqualTo(image.LayerDigests));
            Assert.That(pulled.Layers.Select(l => l.MediaType), Is.All.EqualTo(DistributionMediaTypes.OciLayerGzip));
            Assert.That(pulled.DiffIds, Is.EqualTo(image.DiffIds));
            foreach (var digest in image.LayerDigests.Append(image.ConfigDigest).Append(image.ManifestDigest))
                Assert.That(_store.Info(digest), Is.Not.Null, digest);
            foreach (var digest in image.LayerDigests.Append(image.ConfigDigest))
                Assert.That(progress.Phases(digest), Does.Contain(PullPhase.Downloading).And.Contain(PullPhase.Done), digest);
        });
    }

    [Test]
    public async Task A_second_pull_downloads_nothing_and_reports_exists()
    {
        var image = TestImages.AddImage(_registry, "app", layerCount: 2);
        _registry.AddManifest("app", DistributionMediaTypes.OciManifest, image.Manifest, tag: "latest");
        await Puller().PullAsync($"{_registry.Host}/app", Plain(), CancellationToken.None);
        // An interrupted pull: one layer is lost, the rest stays.
        _store.Delete(image.LayerDigests[0]);
        while (_registry.Requests.TryDequeue(out _)) { }
        var progress = new RecordingProgress();

        await Puller().PullAsync($"{_registry.Host}/app", Plain(progress), CancellationToken.None);

        var blobRequests = _registry.Requests.Where(r => r.Contains("/blobs/", StringComparison.Ordinal)).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(blobRequests, Has.Count.EqualTo(1));
            Assert.That(blobRequests[0], Does.Contain(image.LayerDigests[0]));
            Assert.That(progress.Phases(image.LayerDigests[1]), Does.Contain(PullPhase.Exists));
            Assert.That(progress.Phases(image.ConfigDigest), Does.Contain(PullPhase.Exists));
        });
    }

    [Test]
    public async Task An_index_resolves_to_the_requested_platform_and_is_the_target()
    {
        var amd64 = TestImages.AddImage(_registry, "multi", 1, "amd64");
        var arm64 = TestImages.AddImage(_registry, "multi", 2, "arm64");
        var index = TestImages.Index([(amd64, "linux/amd64"), (arm64, "linux/arm64/v8")]);
        var indexDigest = _registry.AddManifest("multi", DistributionMediaTypes.OciIndex, index, tag: "1.0");

        var pulled = await Puller().PullAsync($"{_registry.Host}/multi:1.0", Plain(platform: "linux/arm64"), CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(pulled.Target.Digest, Is.EqualTo(indexDigest));
            Assert.That(pulled.Target.MediaType, Is.EqualTo(DistributionMediaTypes.OciIndex));
            Assert.That(pulled.Manifest.Digest, Is.EqualTo(arm64.ManifestDigest));
            Assert.That(pulled.Layers, Has.Count.EqualTo(2));
            Assert.That(_store.Info(indexDigest), Is.Not.Null);
            Assert.That(_store.Info(amd64.LayerDigests[0]), Is.Null, "the other platform's layers are not pulled");
        });
    }

    [Test]
    public async Task A_docker_manifest_list_and_schema_2_manifest_are_read_too()
    {
        var amd64 = TestImages.AddImage(_registry, "busybox", 1, "amd64", docker: true);
        var arm = TestImages.AddImage(_registry, "busybox", 1, "arm", docker: true);
        // Only docker.io adds library/; another registry keeps the name as written.
        var list = TestImages.Index([(arm, "linux/arm/v7"), (amd64, "linux/amd64")], docker: true);
        _registry.AddManifest("busybox", DistributionMediaTypes.DockerManifestList, list, tag: "latest");

        var pulled = await Puller().PullAsync($"{_registry.Host}/busybox", Plain(platform: "linux/amd64"), CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(pulled.Name, Is.EqualTo($"{_registry.Host}/busybox:latest"));
            Assert.That(pulled.Target.MediaType, Is.EqualTo(DistributionMediaTypes.DockerManifestList));
            Assert.That(pulled.Manifest.Digest, Is.EqualTo(amd64.ManifestDigest));
            Assert.That(pulled.Manifest.MediaType, Is.EqualTo(DistributionMediaTypes.DockerManifest));
            Assert.That(pulled.Config.MediaType, Is.EqualTo(DistributionMediaTypes.DockerConfig));
        });
    }

    [Test]
    public async Task No_manifest_for_the_platform_is_not_found_listing_what_there_is()
    {
        var amd64 = TestImages.AddImage(_registry, "multi", 1, "amd64");
        _registry.AddManifest("multi", DistributionMediaTypes.OciIndex, TestImages.Index([(amd64, "linux/amd64")]), tag: "x");

        var e = Assert.ThrowsAsync<RegistryException>(() => Puller().PullAsync($"{_registry.Host}/multi:x", Plain(platform: "linux/s390x"), CancellationToken.None));
        Assert.That(e!.Kind, Is.EqualTo(RegistryErrorKind.NotFound));
        Assert.That(e.Message, Does.Contain("linux/s390x").And.Contain("linux/amd64"));
    }

    [Test]
    public async Task By_digest_the_manifest_must_have_that_digest()
    {
        var image = TestImages.AddImage(_registry, "app", 1);
        var other = TestImages.AddImage(_registry, "app", 1);
        // The registry answers the request for one digest with another manifest.
        _registry.Manifests[$"app:{image.ManifestDigest}"] = (DistributionMediaTypes.OciManifest, other.Manifest);

        var e = Assert.ThrowsAsync<RegistryException>(() => Puller().PullAsync($"{_registry.Host}/app@{image.ManifestDigest}", Plain(), CancellationToken.None));
        Assert.That(e!.Kind, Is.EqualTo(RegistryErrorKind.DigestMismatch));
        Assert.That(e.Message, Does.Contain(image.ManifestDigest).And.Contain(other.ManifestDigest));
        Assert.That(_store.List(), Is.Empty);

        var pulled = await Puller().PullAsync($"{_registry.Host}/app:ignored@{other.ManifestDigest}", Plain(), CancellationToken.None);
        Assert.That(pulled.Manifest.Digest, Is.EqualTo(other.ManifestDigest));
    }

    [Test]
    public void A_docker_content_digest_that_differs_from_the_body_is_refused()
    {
        var image = TestImages.AddImage(_registry, "app", 1);
        _registry.AddManifest("app", DistributionMediaTypes.OciManifest, image.Manifest, tag: "latest");
        _registry.LieAboutDigest = "sha256:" + new string('0', 64);

        var e = Assert.ThrowsAsync<RegistryException>(() => Puller().PullAsync($"{_registry.Host}/app", Plain(), CancellationToken.None));
        Assert.That(e!.Kind, Is.EqualTo(RegistryErrorKind.DigestMismatch));
        Assert.That(e.Message, Does.Contain("Docker-Content-Digest"));
    }

    [Test]
    public void A_corrupt_layer_is_a_digest_mismatch_and_never_becomes_visible()
    {
        var image = TestImages.AddImage(_registry, "app", 2);
        _registry.AddManifest("app", DistributionMediaTypes.OciManifest, image.Manifest, tag: "latest");
        var bad = _registry.Blobs[image.LayerDigests[1]].ToArray();
        bad[10] ^= 0xff;
        _registry.Blobs[image.LayerDigests[1]] = bad;

        var e = Assert.ThrowsAsync<RegistryException>(() => Puller().PullAsync($"{_registry.Host}/app", Plain(), CancellationToken.None));
        Assert.That(e!.Kind, Is.EqualTo(RegistryErrorKind.DigestMismatch), e.Message);
        Assert.That(e.Message, Does.Contain(image.LayerDigests[1]));
        Assert.That(_store.Info(image.LayerDigests[1]), Is.Null);
    }

    private string IngestOf(string digest) => Path.Combine(_root.FullName, "ingest", digest["sha256:".Length..]);

    private List<(string Request, int Status)> BlobRequestsFor(string digest) =>
        _registry.BlobRequests.Where(r => r.Request.StartsWith(digest, StringComparison.Ordinal)).ToList();

    [Test]
    public async Task A_download_broken_off_resumes_with_a_range_request_from_what_it_kept()
    {
        var image = TestImages.AddImage(_registry, "app", 1, layerBytes: 200_000);
        _registry.AddManifest("app", DistributionMediaTypes.OciManifest, image.Manifest, tag: "latest");
        var layer = image.LayerDigests[0];
        _registry.BreakBlobsAfter = 70_000;

        var broken = Assert.ThrowsAsync<RegistryException>(() => Puller().PullAsync($"{_registry.Host}/app", Plain(), CancellationToken.None));
        Assert.That(broken!.Kind, Is.EqualTo(RegistryErrorKind.Unavailable), broken.Message);
        Assert.That(_store.Info(layer), Is.Null, "no partial blob is visible");
        long kept = new FileInfo(Path.Combine(IngestOf(layer), "data")).Length;
        Assert.That(kept, Is.GreaterThan(0).And.LessThanOrEqualTo(70_000));

        _registry.BreakBlobsAfter = null;
        var progress = new RecordingProgress();
        await Puller().PullAsync($"{_registry.Host}/app", Plain(progress), CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(BlobRequestsFor(layer), Is.EqualTo(new[] { (layer, 200), ($"{layer} bytes={kept}-", 206) }));
            Assert.That(_store.Info(layer)!.Size, Is.EqualTo(200_000));
            Assert.That(Directory.Exists(IngestOf(layer)), Is.False);
        });
    }

    [Test]
    public async Task A_registry_that_ignores_the_range_is_fetched_whole_from_the_start()
    {
        var image = TestImages.AddImage(_registry, "app", 1, layerBytes: 50_000);
        _registry.AddManifest("app", DistributionMediaTypes.OciManifest, image.Manifest, tag: "latest");
        var layer = image.LayerDigests[0];
        await WriteIngestAsync(layer, _registry.Blobs[layer][..20_000], 50_000);
        _registry.IgnoreRange = true;

        await Puller().PullAsync($"{_registry.Host}/app", Plain(), CancellationToken.None);

        Assert.That(BlobRequestsFor(layer), Is.EqualTo(new[] { ($"{layer} bytes=20000-", 200) }));
        Assert.That(_store.Info(layer)!.Size, Is.EqualTo(50_000));
    }

    [Test]
    public async Task A_kept_prefix_that_is_not_the_blobs_is_dropped_and_the_blob_fetched_whole_once()
    {
        var image = TestImages.AddImage(_registry, "app", 1, layerBytes: 50_000);
        _registry.AddManifest("app", DistributionMediaTypes.OciManifest, image.Manifest, tag: "latest");
        var layer = image.LayerDigests[0];
        var wrong = _registry.Blobs[layer][..20_000];
        wrong[100] ^= 0xff;
        await WriteIngestAsync(layer, wrong, 50_000);

        await Puller().PullAsync($"{_registry.Host}/app", Plain(), CancellationToken.None);

        Assert.That(BlobRequestsFor(layer), Is.EqualTo(new[] { ($"{layer} bytes=20000-", 206), (layer, 200) }));
        Assert.That(_store.Info(layer)!.Size, Is.EqualTo(50_000));
    }

    [Test]
    public async Task A_complete_kept_blob_is_committed_without_a_request()
    {
        var image = TestImages.AddImage(_registry, "app", 1, layerBytes: 5_000);
        _registry.AddManifest("app", DistributionMediaTypes.OciManifest, image.Manifest, tag: "latest");
        var layer = image.LayerDigests[0];
        await WriteIngestAsync(layer, _registry.Blobs[layer], 5_000);

        await Puller().PullAsync($"{_registry.Host}/app", Plain(), CancellationToken.None);

        Assert.That(BlobRequestsFor(layer), Is.Empty);
        Assert.That(_store.Info(layer)!.Size, Is.EqualTo(5_000));
    }

    private async Task WriteIngestAsync(string digest, byte[] prefix, long size)
    {
        await using var ingest = _store.TryOpenIngest(digest, size)!;
        await ingest.ResumeAsync(CancellationToken.None);
        await ingest.AppendAsync(new MemoryStream(prefix), CancellationToken.None);
    }

    [Test]
    public void A_layer_longer_than_its_descriptor_is_cut_off()
    {
        var image = TestImages.AddImage(_registry, "app", 1);
        _registry.AddManifest("app", DistributionMediaTypes.OciManifest, image.Manifest, tag: "latest");
        _registry.Blobs[image.LayerDigests[0]] = [.. _registry.Blobs[image.LayerDigests[0]], .. new byte[5000]];

        var e = Assert.ThrowsAsync<RegistryException>(() => Puller().PullAsync($"{_registry.Host}/app", Plain(), CancellationToken.None));
        Assert.That(e!.Kind, Is.EqualTo(RegistryErrorKind.DigestMismatch), e.Message);
        Assert.That(_store.Info(image.LayerDigests[0]), Is.Null);
    }

    [Test]
    public void An_unknown_tag_is_not_found_naming_registry_repository_tag_and_status()
    {
        var e = Assert.ThrowsAsync<RegistryException>(() => Puller().PullAsync($"{_registry.Host}/nothing/here:v9", Plain(), CancellationToken.None));
        Assert.That(e!.Kind, Is.EqualTo(RegistryErrorKind.NotFound));
        Assert.That(e.StatusCode, Is.EqualTo(404));
        Assert.That(e.Message, Does.Contain($"{_registry.Host}/nothing/here:v9").And.Contain("404").And.Contain("MANIFEST_UNKNOWN"));
    }

    [Test]
    public async Task Bearer_auth_fetches_one_token_with_the_credentials_and_keeps_it_off_redirects()
    {
        var image = TestImages.AddImage(_registry, "private/app", 3);
        _registry.AddManifest("private/app", DistributionMediaTypes.OciManifest, image.Manifest, tag: "latest");
        _registry.Auth = "bearer";
        _registry.User = "alice";
        _registry.Password = "s3cret";
        _registry.RedirectBlobs = true;

        var pulled = await Puller().PullAsync($"{_registry.Host}/private/app", Plain(credentials: new("alice", "s3cret")), CancellationToken.None);

        var storage = _registry.Requests.Where(r => r.Contains("/storage/", StringComparison.Ordinal)).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(pulled.Layers, Has.Count.EqualTo(3));
            Assert.That(_registry.TokenRequests, Is.EqualTo(1), "one token for the pull, reused by manifest and every blob");
            Assert.That(_registry.Requests.Where(r => r.Contains("/blobs/", StringComparison.Ordinal)), Has.All.Contain("Bearer " + FakeRegistry.Token));
            Assert.That(storage, Has.Count.EqualTo(4));
            Assert.That(storage, Has.All.StartWith("localhost:").And.Not.Contain("Bearer").And.Not.Contain("Basic"));
        });
    }

    [Test]
    public void Bearer_auth_with_wrong_credentials_is_unauthorized_naming_the_user()
    {
        TestImages.AddImage(_registry, "private/app", 1);
        _registry.Auth = "bearer";
        _registry.User = "alice";
        _registry.Password = "s3cret";

        var e = Assert.ThrowsAsync<RegistryException>(() => Puller().PullAsync($"{_registry.Host}/private/app", Plain(credentials: new("alice", "wrong")), CancellationToken.None));
        Assert.That(e!.Kind, Is.EqualTo(RegistryErrorKind.Unauthorized));
        Assert.That(e.Message, Does.Contain("alice").And.Contain("401").And.Not.Contain("wrong"));
    }

    [Test]
    public async Task Anonymous_bearer_tokens_work_without_credentials()
    {
        var image = TestImages.AddImage(_registry, "public", 1);
        _registry.AddManifest("public", DistributionMediaTypes.OciManifest, image.Manifest, tag: "latest");
        _registry.Auth = "bearer";

        var pulled = await Puller().PullAsync($"{_registry.Host}/public", Plain(), CancellationToken.None);
        Assert.That(pulled.Layers, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task Basic_auth_needs_credentials()
    {
        var image = TestImages.AddImage(_registry, "app", 1);
        _registry.AddManifest("app", DistributionMediaTypes.OciManifest, image.Manifest, tag: "latest");
        _registry.Auth = "basic";
        _registry.User = "bob";
        _registry.Password = "pw";

        var anonymous = Assert.ThrowsAsync<RegistryException>(() => Puller().PullAsync($"{_registry.Host}/app", Plain(), CancellationToken.None));
        var wrong = Assert.ThrowsAsync<RegistryException>(() => Puller().PullAsync($"{_registry.Host}/app", Plain(credentials: new("bob", "nope")), CancellationToken.None));
        var pulled = await Puller().PullAsync($"{_registry.Host}/app", Plain(credentials: new("bob", "pw")), CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(anonymous!.Kind, Is.EqualTo(RegistryErrorKind.Unauthorized));
            Assert.That(anonymous.Message, Does.Contain("no credentials"));
            Assert.That(wrong!.Kind, Is.EqualTo(RegistryErrorKind.Unauthorized));
            Assert.That(wrong.Message, Does.Contain("bob").And.Contain("401"));
            Assert.That(pulled.Layers, Has.Count.EqualTo(1));
        });
    }

    [Test]
    public void A_refused_connection_is_unavailable_naming_the_endpoint()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var e = Assert.ThrowsAsync<RegistryException>(() => Puller().PullAsync($"127.0.0.1:{port}/app", Plain(), CancellationToken.None));
        Assert.That(e!.Kind, Is.EqualTo(RegistryErrorKind.Unavailable));
        Assert.That(e.Message, Does.Contain($"http://127.0.0.1:{port}").And.Contain("127.0.0.1:" + port + "/app:latest"));
    }

    [Test]
    public void Https_to_a_plain_http_registry_is_a_tls_failure_naming_the_host()
    {
        var e = Assert.ThrowsAsync<RegistryException>(() => Puller().PullAsync($"{_registry.Host}/app", new PullOptions(), CancellationToken.None));
        Assert.That(e!.Kind, Is.EqualTo(RegistryErrorKind.Tls), e.Message);
        Assert.That(e.Message, Does.Contain($"https://{_registry.Host}"));
    }

    [Test]
    public async Task A_hosts_toml_mirror_is_tried_first_and_the_server_after_a_404()
    {
        var image = TestImages.AddImage(_registry, "app", 1);
        _registry.AddManifest("app", DistributionMediaTypes.OciManifest, image.Manifest, tag: "latest");
        await using var mirror = await FakeRegistry.StartAsync(); // empty: every answer 404
        var hosts = Directory.CreateDirectory(Path.Combine(_root.FullName, "certs.d", "registry.example"));
        await File.WriteAllTextAsync(Path.Combine(hosts.FullName, "hosts.toml"), $"""
            server = "http://{_registry.Host}"
            [host."http://{mirror.Host}"]
              capabilities = ["pull", "resolve"]
            """);

        var pulled = await Puller(Path.GetDirectoryName(hosts.FullName)).PullAsync("registry.example/app", new PullOptions(), CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(pulled.Name, Is.EqualTo("registry.example/app:latest"));
            Assert.That(mirror.Requests.Any(r => r.Contains("/v2/app/manifests/latest", StringComparison.Ordinal)), Is.True);
            Assert.That(_registry.Requests.Any(r => r.Contains("/v2/app/manifests/latest", StringComparison.Ordinal)), Is.True);
        });
    }

    [Test]
    public async Task Downloads_run_in_parallel_but_bounded()
    {
        var image = TestImages.AddImage(_registry, "big", 6, layerBytes: 200_000);
        _registry.AddManifest("big", DistributionMediaTypes.OciManifest, image.Manifest, tag: "latest");
        var progress = new RecordingProgress();

        await Puller().PullAsync($"{_registry.Host}/big", Plain(progress) with { MaxConcurrentDownloads = 2 }, CancellationToken.None);

        Assert.That(progress.MaxInFlight, Is.LessThanOrEqualTo(2).And.GreaterThanOrEqualTo(1));
        Assert.That(image.LayerDigests.All(d => _store.Info(d) is not null));
    }

    /// <summary>Synchronous progress (Progress&lt;T&gt; would post to the thread pool, out of order).</summary>
    private sealed class RecordingProgress : IProgress<PullProgress>
    {
        private readonly ConcurrentQueue<PullProgress> _reports = new();
        private readonly ConcurrentDictionary<string, bool> _inFlight = new();
        private int _max;

        public int MaxInFlight => _max;

        public IReadOnlyList<PullPhase> Phases(string digest) => [.. _reports.Where(r => r.Digest == digest).Select(r => r.Phase)];

        public void Report(PullProgress value)
        {
            _reports.Enqueue(value);
            if (value.Phase == PullPhase.Downloading)
                _inFlight[value.Digest] = true;
            else if (value.Phase is PullPhase.Done or PullPhase.Exists)
                _inFlight.TryRemove(value.Digest, out _);
            int current;
            while ((current = _max) < _inFlight.Count && Interlocked.CompareExchange(ref _max, _inFlight.Count, current) != current) { }
        }
    }
}
