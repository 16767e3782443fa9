using System.Text.Json.Serialization;

namespace Containerd.Daemon.Images.Distribution;

/// <summary>The parts of an image config the puller needs: its platform and rootfs.diff_ids.</summary>
public sealed class ImageConfigJson
{
    [JsonPropertyName("architecture")] public string? Architecture { get; set; }
    [JsonPropertyName("os")] public string? Os { get; set; }
    [JsonPropertyName("variant")] public string? Variant { get; set; }
    [JsonPropertyName("rootfs")] public ImageRootfsJson? Rootfs { get; set; }
}
