using System.Text.Json.Serialization;

namespace Containerd.Daemon.Images.Distribution;

/// <summary>The body of a registry error (distribution spec): <c>{"errors":[{"code":"MANIFEST_UNKNOWN","message":…}]}</c>.</summary>
public sealed class RegistryErrorsJson
{
    [JsonPropertyName("errors")] public List<RegistryErrorJson>? Errors { get; set; }
}

/// <summary>One error of <see cref="RegistryErrorsJson"/>.</summary>
public sealed class RegistryErrorJson
{
    [JsonPropertyName("code")] public string? Code { get; set; }
    [JsonPropertyName("message")] public string? Message { get; set; }
}
