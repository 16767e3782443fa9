using System.Text.Json.Serialization;

namespace Containerd.Daemon.Images.Distribution;

/// <summary>A token realm's answer (docker token spec): <c>token</c>, or OAuth2's <c>access_token</c>.</summary>
public sealed class RegistryTokenJson
{
    [JsonPropertyName("token")] public string? Token { get; set; }
    [JsonPropertyName("access_token")] public string? AccessToken { get; set; }
    [JsonPropertyName("expires_in")] public int ExpiresIn { get; set; }
}
