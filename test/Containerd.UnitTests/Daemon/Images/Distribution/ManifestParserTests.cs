using System.Text;
using Containerd.Daemon.Images.Distribution;

namespace Containerd.UnitTests.Daemon.Images.Distribution;

/// <summary>Media types, platform choice and the checks on what a registry sends.</summary>
public sealed class ManifestParserTests
{
    private static readonly string D1 = "sha256:" + new string('1', 64);
    private static readonly string D2 = "sha256:" + new string('2', 64);
    private static readonly string D3 = "sha256:" + new string('3', 64);
    private static readonly string D4 = "sha256:" + new string('4', 64);

    private static byte[] Json(string text) => Encoding.UTF8.GetBytes(text);

    private static OciDescriptorJson Entry(string digest, string os, string arch, string? variant = null, string mediaType = DistributionMediaTypes.OciManifest) =>
        new() { MediaType = mediaType, Digest = digest, Size = 10, Platform = new OciPlatformJson { Os = os, Architecture = arch, Variant = variant } };

    [Test]
    public void Media_type_comes_from_the_document_then_the_content_type_then_its_fields()
    {
        Assert.Multiple(() =>
        {
            Assert.That(ManifestParser.MediaTypeOf(Json($$"""{"mediaType":"{{DistributionMediaTypes.DockerManifest}}","config":{} }"""), "application/json", "m"),
                Is.EqualTo(DistributionMediaTypes.DockerManifest));
            Assert.That(ManifestParser.MediaTypeOf(Json("""{"schemaVersion":2,"manifests":[]}"""), DistributionMediaTypes.DockerManifestList + "; charset=utf-8", "m"),
                Is.EqualTo(DistributionMediaTypes.DockerManifestList));
            Assert.That(ManifestParser.MediaTypeOf(Json("""{"schemaVersion":2,"manifests":[]}"""), "application/json", "m"), Is.EqualTo(DistributionMediaTypes.OciIndex));
            Assert.That(ManifestParser.MediaTypeOf(Json("""{"schemaVersion":2,"config":{},"layers":[]}"""), null, "m"), Is.EqualTo(DistributionMediaTypes.OciManifest));
        });
    }

    [Test]
    public void Schema_1_unknown_types_and_non_json_are_refused()
    {
        var schema1 = Assert.Throws<RegistryException>(() => ManifestParser.MediaTypeOf(Json("""{"schemaVersion":1,"name":"x","fsLayers":[]}"""), DistributionMediaTypes.DockerSchema1Signed, "m"));
        var unknown = Assert.Throws<RegistryException>(() => ManifestParser.MediaTypeOf(Json("""{"mediaType":"application/vnd.example+json"}"""), null, "m"));
        var garbage = Assert.Throws<RegistryException>(() => ManifestParser.MediaTypeOf(Json("<html>"), "text/html", "m"));
        Assert.Multiple(() =>
        {
            Assert.That(schema1!.Kind, Is.EqualTo(RegistryErrorKind.InvalidManifest));
            Assert.That(schema1.Message, Does.Contain("schema 1"));
            Assert.That(unknown!.Message, Does.Contain("application/vnd.example+json"));
            Assert.That(garbage!.Kind, Is.EqualTo(RegistryErrorKind.InvalidManifest));
        });
    }

    [Test]
    public void A_manifest_gives_config_and_layers_in_order()
    {
        var (config, layers) = ManifestParser.ParseManifest(Json($$"""
            {"schemaVersion":2,"config":{"mediaType":"{{DistributionMediaTypes.OciConfig}}","digest":"{{D1}}","size":5},
             "layers":[{"mediaType":"{{DistributionMediaTypes.OciLayerZstd}}","digest":"{{D2}}","size":7},
                       {"mediaType":"{{DistributionMediaTypes.OciLayer}}","digest":"{{D3}}","size":0}]}
            """), "m");
        Assert.That((config.Digest, config.Size, config.MediaType), Is.EqualTo((D1, 5L, DistributionMediaTypes.OciConfig)));
        Assert.That(layers.Select(l => (l.Digest, l.Size, l.MediaType)),
            Is.EqualTo(new[] { (D2, 7L, DistributionMediaTypes.OciLayerZstd), (D3, 0L, DistributionMediaTypes.OciLayer) }));
    }

    [TestCase("sha256:../../etc/passwd")]
    [TestCase("sha512:00")]
    [TestCase("SHA256:1111111111111111111111111111111111111111111111111111111111111111")]
    public void A_descriptor_with_a_bad_digest_is_refused(string digest)
    {
        var e = Assert.Throws<RegistryException>(() => ManifestParser.ParseManifest(Json($$"""
            {"config":{"mediaType":"c","digest":"{{D1}}","size":5},"layers":[{"mediaType":"l","digest":"{{digest}}","size":1}]}
            """), "m"));
        Assert.That(e!.Kind, Is.EqualTo(RegistryErrorKind.InvalidManifest));
        Assert.That(e.Message, Does.Contain(digest));
    }

    [Test]
    public void A_negative_size_is_refused() =>
        Assert.That(Assert.Throws<RegistryException>(() => ManifestParser.ParseManifest(Json($$"""
            {"config":{"mediaType":"c","digest":"{{D1}}","size":-1},"layers":[]}
            """), "m"))!.Message, Does.Contain("negative"));

    [Test]
    public void The_platform_picks_os_architecture_and_variant()
    {
        IReadOnlyList<OciDescriptorJson> index =
        [
            Entry(D1, "linux", "amd64"),
            Entry(D2, "linux", "arm", "v6"),
            Entry(D3, "linux", "arm", "v7"),
            Entry(D4, "linux", "arm64", "v8"),
        ];
        Assert.Multiple(() =>
        {
            Assert.That(ManifestParser.SelectPlatform(index, PlatformSpec.Parse("linux/amd64"))?.Digest, Is.EqualTo(D1));
            Assert.That(ManifestParser.SelectPlatform(index, PlatformSpec.Parse("linux/x86_64"))?.Digest, Is.EqualTo(D1));
            Assert.That(ManifestParser.SelectPlatform(index, PlatformSpec.Parse("linux/arm/v7"))?.Digest, Is.EqualTo(D3));
            Assert.That(ManifestParser.SelectPlatform(index, PlatformSpec.Parse("linux/arm/v6"))?.Digest, Is.EqualTo(D2));
            Assert.That(ManifestParser.SelectPlatform(index, PlatformSpec.Parse("linux/arm64"))?.Digest, Is.EqualTo(D4));
            Assert.That(ManifestParser.SelectPlatform(index, PlatformSpec.Parse("linux/aarch64/v8"))?.Digest, Is.EqualTo(D4));
            Assert.That(ManifestParser.SelectPlatform(index, PlatformSpec.Parse("windows/amd64")), Is.Null);
            Assert.That(ManifestParser.SelectPlatform(index, PlatformSpec.Parse("linux/s390x")), Is.Null);
        });
    }

    [Test]
    public void An_arm64_entry_without_variant_is_v8_and_attestations_never_match()
    {
        IReadOnlyList<OciDescriptorJson> index =
        [
            Entry(D1, "unknown", "unknown"),
            new() { MediaType = "application/vnd.in-toto+json", Digest = D2, Size = 1, Platform = new() { Os = "linux", Architecture = "amd64" } },
            Entry(D3, "linux", "arm64"),
            Entry(D4, "linux", "amd64", mediaType: DistributionMediaTypes.DockerManifest),
        ];
        Assert.Multiple(() =>
        {
            Assert.That(ManifestParser.SelectPlatform(index, PlatformSpec.Parse("linux/arm64/v8"))?.Digest, Is.EqualTo(D3));
            Assert.That(ManifestParser.SelectPlatform(index, PlatformSpec.Parse("linux/amd64"))?.Digest, Is.EqualTo(D4));
        });
    }

    [Test]
    public void The_current_platform_is_linux_and_this_machines_architecture()
    {
        Assert.That(PlatformSpec.Current.Os, Is.EqualTo("linux"));
        if (System.Runtime.InteropServices.RuntimeInformation.OSArchitecture == System.Runtime.InteropServices.Architecture.X64)
            Assert.That(PlatformSpec.Current.ToString(), Is.EqualTo("linux/amd64"));
    }

    [TestCase("linux")]
    [TestCase("linux/")]
    [TestCase("linux/arm/v7/x")]
    public void A_malformed_platform_is_refused(string text) =>
        Assert.That(Assert.Throws<RegistryException>(() => PlatformSpec.Parse(text))!.Kind, Is.EqualTo(RegistryErrorKind.InvalidReference));

    [Test]
    public void Diff_ids_come_from_rootfs_and_must_be_digests()
    {
        Assert.That(ManifestParser.ParseDiffIds(Json($$"""{"rootfs":{"type":"layers","diff_ids":["{{D1}}","{{D2}}"]} }"""), "c"), Is.EqualTo(new[] { D1, D2 }));
        Assert.That(Assert.Throws<RegistryException>(() => ManifestParser.ParseDiffIds(Json("""{"rootfs":{"diff_ids":["x"]}}"""), "c"))!.Kind,
            Is.EqualTo(RegistryErrorKind.InvalidManifest));
        Assert.That(Assert.Throws<RegistryException>(() => ManifestParser.ParseDiffIds(Json("""{"os":"linux"}"""), "c"))!.Message, Does.Contain("diff_ids"));
    }
}
