using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Containerd.Tests.Support;

/// <summary>One layer as the manifest lists it, with the diff id the config lists for it.</summary>
public sealed record TestImageLayer(string MediaType, string Digest, long Size, string DiffId);

/// <summary>The image config's facts a pull and a container spec must carry over.</summary>
public sealed record TestImageConfig(
    string Os,
    string Architecture,
    IReadOnlyList<string> Cmd,
    IReadOnlyList<string> Entrypoint,
    IReadOnlyList<string> Env,
    string WorkingDir,
    string User);

/// <summary>One platform of an index: its manifest is <see cref="Image"/>.</summary>
public sealed record TestImagePlatform(string Os, string Architecture, TestImage Image);

/// <summary>
/// An image pushed to every registry of <see cref="TestImages"/> as NAME:TAG, with the facts read
/// back from what was pushed: for a manifest its layers and config, for an index its platforms.
/// </summary>
public sealed record TestImage(
    string Name,
    string Tag,
    string MediaType,
    string ManifestDigest,
    long ManifestSize,
    string? ConfigDigest,
    IReadOnlyList<TestImageLayer> Layers,
    TestImageConfig? Config,
    IReadOnlyList<TestImagePlatform> Platforms)
{
    /// <summary>"127.0.0.1:PORT/NAME:TAG".</summary>
    public string Reference(TestRegistry registry) => registry.Reference($"{Name}:{Tag}");

    /// <summary>"127.0.0.1:PORT/NAME@sha256:…".</summary>
    public string DigestReference(TestRegistry registry) => registry.Reference($"{Name}@{ManifestDigest}");
}

/// <summary>What the layered image's layers do, so tests assert on paths, not on guesses.</summary>
public static class LayeredImage
{
    /// <summary>In layer 1, deleted in layer 2 (umoci writes data/.wh.gone).</summary>
    public const string Deleted = "/data/gone";

    /// <summary>In layer 1 and untouched since, content "keep\n".</summary>
    public const string Kept = "/data/keep";

    /// <summary>Layer 1 has data/dir/old; layer 2 empties the directory and adds data/dir/new ("new\n").
    /// umoci 0.4.7 writes no opaque marker for this: it writes data/dir/.wh.old.</summary>
    public const string ReplacedDirectory = "/data/dir";

    public const string ReplacedOld = "/data/dir/old";

    public const string ReplacedNew = "/data/dir/new";

    /// <summary>Layer 2: data/h1 ("hardlinked\n") and data/h2, a hard link to it (one inode).</summary>
    public const string HardLink1 = "/data/h1";

    public const string HardLink2 = "/data/h2";

    /// <summary>Layer 3: "secret\n", mode 0750, owner 1000:1000.</summary>
    public const string Secret = "/data/secret";

    public const UnixFileMode SecretMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute; // 0750

    public const int SecretOwner = 1000;
}

/// <summary>The parents image: a lower layer with data/ (1000:1000, 0700) and an upper layer with only data/file.</summary>
public static class ParentsImage
{
    public const string Directory = "/data";

    public const string File = "/data/file";

    public const int Owner = 1000;

    /// <summary>"700": data/'s mode in the lower layer, as stat %a prints it.</summary>
    public const string Mode = "700";
}

/// <summary>
/// Three real registries (plain HTTP, basic auth, self-signed TLS) on 127.0.0.1, each holding
/// every test image, built offline from the busybox rootfs with umoci and pushed with skopeo
/// (or, for what skopeo would rewrite, blob by blob over HTTP).
/// Shared by the whole test run: <see cref="GetAsync"/> builds it on first use only (tests that
/// never ask pay nothing), and <see cref="TestImagesCleanup"/> stops it when the run ends.
/// </summary>
public sealed class TestImages : IAsyncDisposable
{
    // The one lazily-created fixture object of the run; the build is not tied to the first
    // caller's token, since a cancelled first test must not fail every later one.
    private static readonly Lazy<Task<TestImages>> Shared = new(() => BuildAsync(CancellationToken.None), LazyThreadSafetyMode.ExecutionAndPublication);

    private const string Tag = "latest";

    private readonly string _directory;

    private TestImages(string directory, TestRegistry plain, TestRegistry auth, TestRegistry tls)
    {
        _directory = directory;
        Plain = plain;
        Auth = auth;
        Tls = tls;
        Layout = new OciLayout(Path.Combine(directory, "layout"));
    }

    public TestRegistry Plain { get; }

    public TestRegistry Auth { get; }

    public TestRegistry Tls { get; }

    public IReadOnlyList<TestRegistry> Registries => [Plain, Auth, Tls];

    /// <summary>The OCI layout every image was built in (the v2s2 manifest is only in the registries).</summary>
    public OciLayout Layout { get; }

    /// <summary>busybox: one gzip layer (the rootfs), cmd ["sh"], env PATH, workdir /root, no user.</summary>
    public TestImage Busybox { get; private set; } = null!;

    /// <summary>layered: three gzip layers (see <see cref="LayeredImage"/>), cmd ["sh"], workdir /data, user 1000:1000.</summary>
    public TestImage Layered { get; private set; } = null!;

    /// <summary>uncompressed: busybox with its layer stored as a plain tar (media type …tar, digest = diff id).</summary>
    public TestImage Uncompressed { get; private set; } = null!;

    /// <summary>multiarch: an OCI index of linux/amd64 (busybox's manifest) and linux/arm64 (same layers, config says arm64).</summary>
    public TestImage Multiarch { get; private set; } = null!;

    /// <summary>docker-v2s2: busybox pushed by skopeo --format v2s2 (docker media types, same config and layer blobs).</summary>
    public TestImage DockerV2S2 { get; private set; } = null!;

    /// <summary>hostile: busybox's layer, then <see cref="TestImagesLayers.HostileTar"/> gzipped.</summary>
    public TestImage Hostile { get; private set; } = null!;

    /// <summary>opaque: busybox's layer, opq/{old1,old2,sub/deep}, then a layer making opq/ opaque with only opq/new.</summary>
    public TestImage Opaque { get; private set; } = null!;

    /// <summary>users: busybox's layer, then <see cref="TestImagesLayers.UsersTar"/> (its own etc/passwd and etc/group), user "nobody".</summary>
    public TestImage Users { get; private set; } = null!;

    /// <summary>zstd: busybox with its layer recompressed as zstd (media type …tar+zstd, same diff id).</summary>
    public TestImage Zstd { get; private set; } = null!;

    /// <summary>parents: busybox's layer, then <see cref="ParentsImage"/>'s two layers gzipped.</summary>
    public TestImage Parents { get; private set; } = null!;

    /// <summary>busybox with a pause-like command (it only sleeps): the CRI tests' sandbox image.</summary>
    public TestImage Pause { get; private set; } = null!;

    public IReadOnlyList<TestImage> All => [Busybox, Layered, Uncompressed, Multiarch, DockerV2S2, Hostile, Opaque, Users, Zstd, Parents, Pause];

    /// <summary>How long building the layouts took.</summary>
    public TimeSpan BuildTime { get; private set; }

    /// <summary>How long pushing every image to the three registries took.</summary>
    public TimeSpan PushTime { get; private set; }

    /// <summary>The run's registries and images, built on the first call.</summary>
    public static Task<TestImages> GetAsync(CancellationToken cancellationToken) => Shared.Value.WaitAsync(cancellationToken);

    /// <summary>Stops the shared instance if it was ever built (a failed build cleaned up after itself).</summary>
    internal static async Task DisposeSharedAsync()
    {
        if (!Shared.IsValueCreated || !Shared.Value.IsCompletedSuccessfully)
            return;
        await Shared.Value.Result.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        // All three stop even if one fails; the first failure is reported.
        var stops = Registries.Select(r => r.DisposeAsync().AsTask()).ToList();
        try
        {
            await Task.WhenAll(stops);
        }
        finally
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private static async Task<TestImages> BuildAsync(CancellationToken cancellationToken)
    {
        var directory = Directory.CreateTempSubdirectory("ctrd-images-").FullName;
        var registries = new[] { RegistryKind.Plain, RegistryKind.BasicAuth, RegistryKind.Tls }
            .Select(kind => TestRegistry.StartAsync(kind, cancellationToken)).ToList();
        TestImages? images = null;
        try
        {
            // The registries start while the layouts are built.
            var clock = Stopwatch.StartNew();
            var builder = new Builder(Path.Combine(directory, "layout"), Path.Combine(directory, "bundles"));
            await builder.BuildAsync(cancellationToken);
            var buildTime = clock.Elapsed;

            var started = await Task.WhenAll(registries);
            images = new TestImages(directory, started[0], started[1], started[2]) { BuildTime = buildTime };
            clock.Restart();
            var v2s2Digests = await Task.WhenAll(images.Registries.Select(r => images.PushAllAsync(r, cancellationToken)));
            if (v2s2Digests.Distinct().Count() != 1)
                throw new InvalidOperationException("skopeo converted busybox to different v2s2 manifests: " + string.Join(", ", v2s2Digests));
            images.PushTime = clock.Elapsed;

            images.Busybox = images.Read("busybox");
            images.Layered = images.Read("layered");
            images.Uncompressed = images.Read("uncompressed");
            images.Multiarch = images.Read("multiarch");
            images.Hostile = images.Read("hostile");
            images.Opaque = images.Read("opaque");
            images.Users = images.Read("users");
            images.Zstd = images.Read("zstd");
            images.Parents = images.Read("parents");
            images.Pause = images.Read("pause");
            images.DockerV2S2 = await images.ReadFromRegistryAsync("docker-v2s2", v2s2Digests[0], cancellationToken);
            TestContext.Progress.WriteLine($"TestImages: built the layouts in {images.BuildTime.TotalSeconds:F1} s, pushed {images.All.Count} images to 3 registries in {images.PushTime.TotalSeconds:F1} s");
            return images;
        }
        catch
        {
            if (images is not null)
            {
                await images.DisposeAsync();
            }
            else
            {
                foreach (var start in registries)
                {
                    try
                    {
                        await (await start).DisposeAsync();
                    }
                    catch (Exception)
                    {
                        // A registry that did not start has nothing to stop; the build's failure is the one to report.
                    }
                }
                Directory.Delete(directory, recursive: true);
            }
            throw;
        }
    }

    /// <summary>Pushes every image to REGISTRY; returns the digest skopeo gave the v2s2 manifest.</summary>
    private async Task<string> PushAllAsync(TestRegistry registry, CancellationToken cancellationToken)
    {
        // skopeo for what umoci built: it keeps those manifests byte for byte (checked by the fixture tests).
        await SkopeoCopyAsync(registry, "busybox", "busybox", [], cancellationToken);
        await SkopeoCopyAsync(registry, "layered", "layered", [], cancellationToken);
        await SkopeoCopyAsync(registry, "multiarch", "multiarch", ["--all"], cancellationToken);
        var v2s2 = await SkopeoCopyAsync(registry, "busybox", "docker-v2s2", ["--format", "v2s2"], cancellationToken);
        // Blob by blob for the rest: skopeo gzips an uncompressed layer on its way to a registry,
        // and the hostile and opaque layers must arrive exactly as written.
        using var client = registry.CreateHttpClient();
        foreach (var name in new[] { "uncompressed", "hostile", "opaque", "users", "zstd", "parents", "pause" })
            await Layout.PushAsync(client, name, Tag, Layout.Resolve(name), cancellationToken);
        return v2s2;
    }

    private async Task<string> SkopeoCopyAsync(TestRegistry registry, string layoutTag, string name, IReadOnlyList<string> options, CancellationToken cancellationToken)
    {
        var digestFile = Path.Combine(_directory, $"digest-{registry.Kind}-{name}");
        List<string> arguments = ["copy", "--quiet", "--digestfile", digestFile, .. options];
        if (registry.Kind == RegistryKind.Tls)
            arguments.AddRange(["--dest-cert-dir", registry.CertificateDirectory!]);
        else
            arguments.Add("--dest-tls-verify=false");
        if (registry.Credentials is { } credentials)
            arguments.AddRange(["--dest-creds", credentials]);
        arguments.AddRange([$"oci:{Layout.Path}:{layoutTag}", $"docker://{registry.Reference($"{name}:{Tag}")}"]);
        await RegistryTools.RunAsync("skopeo", arguments, cancellationToken);
        return (await File.ReadAllTextAsync(digestFile, cancellationToken)).Trim();
    }

    private TestImage Read(string name) => ReadManifest(name, Tag, Layout.Resolve(name), Layout.ReadBlob);

    private async Task<TestImage> ReadFromRegistryAsync(string name, string digest, CancellationToken cancellationToken)
    {
        // skopeo wrote this manifest itself; the config and layers are the layout's blobs.
        using var client = Plain.CreateHttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"v2/{name}/manifests/{digest}");
        foreach (var type in OciMediaTypes.AllManifests)
            request.Headers.Accept.ParseAdd(type);
        using var response = await client.SendAsync(request, cancellationToken);
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        var descriptor = new OciDescriptor(response.Content.Headers.ContentType!.MediaType!, OciLayout.Sha256(body), body.Length);
        return ReadManifest(name, Tag, descriptor, d => d == digest ? body : Layout.ReadBlob(d));
    }

    private static TestImage ReadManifest(string name, string tag, OciDescriptor descriptor, Func<string, byte[]> blob)
    {
        var manifest = JsonNode.Parse(blob(descriptor.Digest))!;
        if (descriptor.MediaType is OciMediaTypes.Index or OciMediaTypes.DockerManifestList)
        {
            var platforms = manifest["manifests"]!.AsArray().Select(entry =>
            {
                var child = OciLayout.Descriptor(entry!);
                return new TestImagePlatform(
                    (string)entry!["platform"]!["os"]!,
                    (string)entry["platform"]!["architecture"]!,
                    ReadManifest(name, child.Digest, child, blob));
            }).ToList();
            return new TestImage(name, tag, descriptor.MediaType, descriptor.Digest, descriptor.Size, null, [], null, platforms);
        }

        var configDescriptor = OciLayout.Descriptor(manifest["config"]!);
        var config = JsonNode.Parse(blob(configDescriptor.Digest))!;
        var diffIds = config["rootfs"]!["diff_ids"]!.AsArray().Select(d => (string)d!).ToList();
        var layers = manifest["layers"]!.AsArray().Select((layer, i) =>
        {
            var d = OciLayout.Descriptor(layer!);
            return new TestImageLayer(d.MediaType, d.Digest, d.Size, diffIds[i]);
        }).ToList();
        var run = config["config"];
        var facts = new TestImageConfig(
            (string)config["os"]!,
            (string)config["architecture"]!,
            Strings(run?["Cmd"]),
            Strings(run?["Entrypoint"]),
            Strings(run?["Env"]),
            (string?)run?["WorkingDir"] ?? "",
            (string?)run?["User"] ?? "");
        return new TestImage(name, tag, descriptor.MediaType, descriptor.Digest, descriptor.Size, configDescriptor.Digest, layers, facts, []);
    }

    private static List<string> Strings(JsonNode? array) => array?.AsArray().Select(s => (string)s!).ToList() ?? [];

    /// <summary>Builds every image into one OCI layout, each under its repository name as tag.</summary>
    private sealed class Builder(string layout, string bundles)
    {
        private const string PathEnv = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

        private readonly OciLayout _layout = new(layout);

        public async Task BuildAsync(CancellationToken cancellationToken)
        {
            if (!File.Exists(Path.Combine(TestPaths.Rootfs, "bin", "busybox")))
                throw new InvalidOperationException($"no busybox rootfs at {TestPaths.Rootfs}: run `make rootfs`");
            Directory.CreateDirectory(bundles);
            await Umoci(cancellationToken, "init", "--layout", layout);
            await BusyboxAsync(cancellationToken);
            await LayeredAsync(cancellationToken);
            await MultiarchAsync(cancellationToken);
            Uncompressed();
            Zstd();
            HandMade("hostile", [TestImagesLayers.HostileTar()]);
            HandMade("opaque", [TestImagesLayers.OpaqueLowerTar(), TestImagesLayers.OpaqueUpperTar()]);
            HandMade("users", [TestImagesLayers.UsersTar()], user: "nobody");
            HandMade("parents", [TestImagesLayers.ParentsLowerTar(), TestImagesLayers.ParentsUpperTar()]);
            Pause();
        }

        /// <summary>busybox's layer with a config whose only job is to sleep, as a pause image holds a pod's namespaces.</summary>
        private void Pause()
        {
            var manifest = _layout.ReadJson(_layout.Resolve("busybox").Digest);
            var config = _layout.ReadJson(OciLayout.Descriptor(manifest["config"]!).Digest);
            var run = config["config"]!.AsObject();
            run["Cmd"] = new JsonArray("/bin/sleep", "2147483647");
            run.Remove("Entrypoint");
            run["WorkingDir"] = "/";
            manifest["config"] = OciLayout.DescriptorJson(_layout.WriteJson(OciMediaTypes.Config, config));
            _layout.Tag(_layout.WriteJson(OciMediaTypes.Manifest, manifest), "pause");
        }

        private async Task BusyboxAsync(CancellationToken cancellationToken)
        {
            var bundle = await NewBundleAsync("busybox", cancellationToken);
            await CopyRootfsAsync(bundle, cancellationToken);
            await Umoci(cancellationToken, "repack", "--image", Image("busybox"), bundle);
            await Umoci(cancellationToken, "config", "--image", Image("busybox"),
                "--config.cmd", "sh", "--config.env", PathEnv, "--config.workingdir", "/root");
        }

        private async Task LayeredAsync(CancellationToken cancellationToken)
        {
            var bundle = await NewBundleAsync("layered", cancellationToken);
            var root = Path.Combine(bundle, "rootfs");
            await CopyRootfsAsync(bundle, cancellationToken);
            Directory.CreateDirectory(Path.Combine(root, "data", "dir"));
            await File.WriteAllTextAsync(Path.Combine(root, "data", "gone"), "gone\n", cancellationToken);
            await File.WriteAllTextAsync(Path.Combine(root, "data", "keep"), "keep\n", cancellationToken);
            await File.WriteAllTextAsync(Path.Combine(root, "data", "dir", "old"), "old\n", cancellationToken);
            // --refresh-bundle: the next repack diffs against this layer, not against the empty image.
            await Umoci(cancellationToken, "repack", "--refresh-bundle", "--image", Image("layered"), bundle);

            File.Delete(Path.Combine(root, "data", "gone"));
            File.Delete(Path.Combine(root, "data", "dir", "old"));
            await File.WriteAllTextAsync(Path.Combine(root, "data", "dir", "new"), "new\n", cancellationToken);
            await File.WriteAllTextAsync(Path.Combine(root, "data", "h1"), "hardlinked\n", cancellationToken);
            await RegistryTools.RunAsync("ln", [Path.Combine(root, "data", "h1"), Path.Combine(root, "data", "h2")], cancellationToken);
            await Umoci(cancellationToken, "repack", "--refresh-bundle", "--image", Image("layered"), bundle);

            var secret = Path.Combine(root, "data", "secret");
            await File.WriteAllTextAsync(secret, "secret\n", cancellationToken);
            File.SetUnixFileMode(secret, LayeredImage.SecretMode);
            // Unpacked and repacked as root without --rootless, so umoci keeps real owners.
            await RegistryTools.RunAsync("chown", ["1000:1000", secret], cancellationToken);
            await Umoci(cancellationToken, "repack", "--image", Image("layered"), bundle);
            await Umoci(cancellationToken, "config", "--image", Image("layered"),
                "--config.cmd", "sh", "--config.env", PathEnv, "--config.env", "LAYERED=1",
                "--config.workingdir", "/data", "--config.user", "1000:1000");
        }

        private async Task MultiarchAsync(CancellationToken cancellationToken)
        {
            // The arm64 manifest shares busybox's layers; only its config says arm64. Nobody runs it.
            await Umoci(cancellationToken, "config", "--image", Image("busybox"), "--tag", "busybox-arm64", "--architecture", "arm64", "--no-history");
            var amd64 = _layout.Resolve("busybox");
            var arm64 = _layout.Resolve("busybox-arm64");
            var index = new JsonObject
            {
                ["schemaVersion"] = 2,
                ["mediaType"] = OciMediaTypes.Index,
                ["manifests"] = new JsonArray(Platform(amd64, "amd64"), Platform(arm64, "arm64")),
            };
            _layout.Tag(_layout.WriteJson(OciMediaTypes.Index, index), "multiarch");
        }

        private static JsonObject Platform(OciDescriptor manifest, string architecture)
        {
            var entry = OciLayout.DescriptorJson(manifest);
            entry["platform"] = new JsonObject { ["architecture"] = architecture, ["os"] = "linux" };
            return entry;
        }

        private void Uncompressed()
        {
            // Same config (the diff id is the same tar), so only the manifest changes.
            var manifest = _layout.ReadJson(_layout.Resolve("busybox").Digest);
            var layers = manifest["layers"]!.AsArray();
            var gzipped = OciLayout.Descriptor(layers[0]!);
            var tar = _layout.WriteBlob(OciMediaTypes.LayerTar, TestImagesLayers.Gunzip(_layout.ReadBlob(gzipped.Digest)));
            layers[0] = OciLayout.DescriptorJson(tar);
            _layout.Tag(_layout.WriteJson(OciMediaTypes.Manifest, manifest), "uncompressed");
        }

        private void Zstd()
        {
            // As Uncompressed: the tar and so the config are busybox's, only the compression differs.
            var manifest = _layout.ReadJson(_layout.Resolve("busybox").Digest);
            var layers = manifest["layers"]!.AsArray();
            var gzipped = OciLayout.Descriptor(layers[0]!);
            var zstd = _layout.WriteBlob(OciMediaTypes.LayerZstd, TestImagesLayers.Zstd(TestImagesLayers.Gunzip(_layout.ReadBlob(gzipped.Digest))));
            layers[0] = OciLayout.DescriptorJson(zstd);
            _layout.Tag(_layout.WriteJson(OciMediaTypes.Manifest, manifest), "zstd");
        }

        /// <summary>busybox's layer, then TARS gzipped, with the config's diff ids and history extended to match (and USER, if given).</summary>
        private void HandMade(string name, IReadOnlyList<byte[]> tars, string? user = null)
        {
            var manifest = _layout.ReadJson(_layout.Resolve("busybox").Digest);
            var config = _layout.ReadJson(OciLayout.Descriptor(manifest["config"]!).Digest);
            foreach (var tar in tars)
            {
                var layer = _layout.WriteBlob(OciMediaTypes.LayerGzip, TestImagesLayers.Gzip(tar));
                manifest["layers"]!.AsArray().Add(OciLayout.DescriptorJson(layer));
                config["rootfs"]!["diff_ids"]!.AsArray().Add(OciLayout.Sha256(tar));
                config["history"]?.AsArray().Add(new JsonObject { ["created"] = "2020-01-01T00:00:00Z", ["created_by"] = $"{name} layer (TestImagesLayers)" });
            }
            if (user is not null)
                config["config"]!["User"] = user;
            manifest["config"] = OciLayout.DescriptorJson(_layout.WriteJson(OciMediaTypes.Config, config));
            _layout.Tag(_layout.WriteJson(OciMediaTypes.Manifest, manifest), name);
        }

        private async Task<string> NewBundleAsync(string tag, CancellationToken cancellationToken)
        {
            var bundle = Path.Combine(bundles, tag);
            await Umoci(cancellationToken, "new", "--image", Image(tag));
            // As root and without --rootless: the layers keep the owners the files have.
            await Umoci(cancellationToken, "unpack", "--image", Image(tag), bundle);
            return bundle;
        }

        private static Task CopyRootfsAsync(string bundle, CancellationToken cancellationToken) =>
            // cp -a keeps the applet symlinks, modes and owners that a C# copy would have to redo.
            RegistryTools.RunAsync("cp", ["-a", TestPaths.Rootfs + "/.", Path.Combine(bundle, "rootfs") + "/"], cancellationToken);

        private string Image(string tag) => $"{layout}:{tag}";

        private static Task<string> Umoci(CancellationToken cancellationToken, params string[] arguments) =>
            RegistryTools.RunAsync("umoci", arguments, cancellationToken);
    }
}
