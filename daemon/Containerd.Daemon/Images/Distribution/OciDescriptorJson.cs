using System.Text.Json.Serialization;

namespace Containerd.Daemon.Images.Distribution;

/// <summary>A descriptor as manifests and indexes write it (OCI image-spec descriptor.md).</summary>
public sealed class OciDescriptorJson
{
    [JsonPropertyName("mediaType")] public string? MediaType { get; set; }
    [JsonPropertyName("digest")] public string? Digest { get; set; }
    [JsonPropertyName("size")] public long Size { get; set; }
    [JsonPropertyName("platform")] public OciPlatformJson? Platform { get; set; }
    [JsonPropertyName("urls")] public List<string>? Urls { get; set; }
    [JsonPropertyName("annotations")] public Dictionary<string, string>? Annotations { get; set; }
}
