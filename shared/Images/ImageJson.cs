using System.Text.Json;

namespace Containerd.Shared.Images;

/// <summary>
/// Reads what the daemon needs from an index, a manifest and an image config
/// with <see cref="JsonDocument"/> (no reflection: the daemon is Native AOT).
/// A document that is not what its media type says throws <see cref="ImageFormatException"/>.
/// </summary>
public static class ImageJson
{
    /// <summary>An index's manifests with their platforms (empty strings where none is given).</summary>
    public static List<(BlobRef Manifest, string Os, string Architecture, string Variant)> IndexManifests(ReadOnlySpan<byte> json)
    {
        using var document = Parse(json, "index");
        var result = new List<(BlobRef, string, string, string)>();
        if (!document.RootElement.TryGetProperty("manifests", out var manifests) || manifests.ValueKind != JsonValueKind.Array)
            return result;
        foreach (var entry in manifests.EnumerateArray())
        {
            var platform = entry.TryGetProperty("platform", out var p) && p.ValueKind == JsonValueKind.Object ? p : default;
            result.Add((Descriptor(entry, "index"),
                StringOf(platform, "os"), StringOf(platform, "architecture"), StringOf(platform, "variant")));
        }
        return result;
    }

    /// <summary>A manifest's config and layers, in order (the first layer is the bottom one).</summary>
    public static (BlobRef Config, List<BlobRef> Layers) Manifest(ReadOnlySpan<byte> json)
    {
        using var document = Parse(json, "manifest");
        var root = document.RootElement;
        if (!root.TryGetProperty("config", out var config) || config.ValueKind != JsonValueKind.Object)
            throw new ImageFormatException("manifest has no config");
        var layers = new List<BlobRef>();
        if (root.TryGetProperty("layers", out var list) && list.ValueKind == JsonValueKind.Array)
            layers.AddRange(list.EnumerateArray().Select(layer => Descriptor(layer, "manifest layer")));
        return (Descriptor(config, "manifest config"), layers);
    }

    /// <summary>The config's rootfs.diff_ids (the uncompressed layers' digests, bottom first).</summary>
    public static List<string> DiffIds(ReadOnlySpan<byte> json)
    {
        using var document = Parse(json, "image config");
        var result = new List<string>();
        if (document.RootElement.TryGetProperty("rootfs", out var rootfs) && rootfs.ValueKind == JsonValueKind.Object
            && rootfs.TryGetProperty("diff_ids", out var ids) && ids.ValueKind == JsonValueKind.Array)
        {
            result.AddRange(ids.EnumerateArray().Select(id => id.GetString() ?? throw new ImageFormatException("image config: a diff id is not a string")));
        }
        return result;
    }

    private static JsonDocument Parse(ReadOnlySpan<byte> json, string what)
    {
        try
        {
            var document = JsonDocument.Parse(json.ToArray());
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                document.Dispose();
                throw new ImageFormatException($"{what} is not a JSON object");
            }
            return document;
        }
        catch (JsonException e)
        {
            throw new ImageFormatException($"{what} is not valid JSON: {e.Message}");
        }
    }

    private static BlobRef Descriptor(JsonElement element, string what)
    {
        var digest = StringOf(element, "digest");
        if (digest.Length == 0)
            throw new ImageFormatException($"{what}: a descriptor has no digest");
        var size = element.TryGetProperty("size", out var s) && s.ValueKind == JsonValueKind.Number ? s.GetInt64() : 0;
        return new BlobRef(StringOf(element, "mediaType"), digest, size);
    }

    private static string StringOf(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString() ?? ""
            : "";
}
