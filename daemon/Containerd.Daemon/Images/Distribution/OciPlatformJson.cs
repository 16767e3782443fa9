using System.Text.Json.Serialization;

namespace Containerd.Daemon.Images.Distribution;

/// <summary>The platform of an index entry.</summary>
public sealed class OciPlatformJson
{
    [JsonPropertyName("architecture")] public string? Architecture { get; set; }
    [JsonPropertyName("os")] public string? Os { get; set; }
    [JsonPropertyName("variant")] public string? Variant { get; set; }
    [JsonPropertyName("os.version")] public string? OsVersion { get; set; }
}
