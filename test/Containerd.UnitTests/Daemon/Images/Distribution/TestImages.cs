using System.Text;
using Containerd.Daemon.Images.Distribution;

namespace Containerd.UnitTests.Daemon.Images.Distribution;

/// <summary>Builds image documents for <see cref="FakeRegistry"/>: layers are arbitrary bytes (the puller never opens them).</summary>
internal static class TestImages
{
    public sealed record Image(string ManifestDigest, byte[] Manifest, string ConfigDigest, IReadOnlyList<string> LayerDigests, IReadOnlyList<string> DiffIds);

    /// <summary>An image of <paramref name="layerCount"/> random layers, its manifest stored (not tagged).</summary>
    public static Image AddImage(FakeRegistry registry, string repository, int layerCount, string architecture = "amd64", bool docker = false, int layerBytes = 3000)
    {
        var layers = new List<string>();
        var diffIds = new List<string>();
        var layerJson = new List<string>();
        for (var i = 0; i < layerCount; i++)
        {
            var bytes = new byte[layerBytes + i];
            Random.Shared.NextBytes(bytes);
            var digest = registry.AddBlob(bytes);
            layers.Add(digest);
            diffIds.Add(FakeRegistry.DigestOf([.. bytes, 1]));
            var mediaType = docker ? DistributionMediaTypes.DockerLayerGzip : DistributionMediaTypes.OciLayerGzip;
            layerJson.Add($$"""{"mediaType":"{{mediaType}}","digest":"{{digest}}","size":{{bytes.Length}}}""");
        }
        var config = Encoding.UTF8.GetBytes($$"""
            {"architecture":"{{architecture}}","os":"linux","config":{"Cmd":["sh"]},
             "rootfs":{"type":"layers","diff_ids":[{{string.Join(",", diffIds.Select(d => $"\"{d}\""))}}]} }
            """);
        var configDigest = registry.AddBlob(config);
        var manifestType = docker ? DistributionMediaTypes.DockerManifest : DistributionMediaTypes.OciManifest;
        var configType = docker ? DistributionMediaTypes.DockerConfig : DistributionMediaTypes.OciConfig;
        var manifest = Encoding.UTF8.GetBytes($$"""
            {"schemaVersion":2,"mediaType":"{{manifestType}}",
             "config":{"mediaType":"{{configType}}","digest":"{{configDigest}}","size":{{config.Length}}},
             "layers":[{{string.Join(",", layerJson)}}]}
            """);
        var manifestDigest = registry.AddManifest(repository, manifestType, manifest);
        return new Image(manifestDigest, manifest, configDigest, layers, diffIds);
    }

    /// <summary>An index (or docker manifest list) over images with the given platforms ("os/arch[/variant]").</summary>
    public static byte[] Index(IEnumerable<(Image Image, string Platform)> entries, bool docker = false)
    {
        var manifestType = docker ? DistributionMediaTypes.DockerManifest : DistributionMediaTypes.OciManifest;
        var items = entries.Select(e =>
        {
            var parts = e.Platform.Split('/');
            var variant = parts.Length > 2 ? $$""","variant":"{{parts[2]}}" """ : "";
            return $$"""{"mediaType":"{{manifestType}}","digest":"{{e.Image.ManifestDigest}}","size":{{e.Image.Manifest.Length}},"platform":{"os":"{{parts[0]}}","architecture":"{{parts[1]}}"{{variant}} } }""";
        });
        var indexType = docker ? DistributionMediaTypes.DockerManifestList : DistributionMediaTypes.OciIndex;
        return Encoding.UTF8.GetBytes($$"""{"schemaVersion":2,"mediaType":"{{indexType}}","manifests":[{{string.Join(",", items)}}]}""");
    }
}
