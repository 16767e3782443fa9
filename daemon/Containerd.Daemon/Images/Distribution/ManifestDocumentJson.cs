using System.Text.Json.Serialization;

namespace Containerd.Daemon.Images.Distribution;

/// <summary>
/// A manifest or an index (OCI or docker) read as one shape: an OCI document
/// may omit mediaType, and then which fields are present tells them apart.
/// </summary>
public sealed class ManifestDocumentJson
{
    [JsonPropertyName("schemaVersion")] public int SchemaVersion { get; set; }
    [JsonPropertyName("mediaType")] public string? MediaType { get; set; }
    [JsonPropertyName("config")] public OciDescriptorJson? Config { get; set; }
    [JsonPropertyName("layers")] public List<OciDescriptorJson>? Layers { get; set; }
    [JsonPropertyName("manifests")] public List<OciDescriptorJson>? Manifests { get; set; }
}
