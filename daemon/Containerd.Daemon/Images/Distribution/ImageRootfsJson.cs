using System.Text.Json.Serialization;

namespace Containerd.Daemon.Images.Distribution;

/// <summary>An image config's <c>rootfs</c>: the digests of the uncompressed layer tars, bottom first.</summary>
public sealed class ImageRootfsJson
{
    [JsonPropertyName("type")] public string? Type { get; set; }
    [JsonPropertyName("diff_ids")] public List<string>? DiffIds { get; set; }
}
