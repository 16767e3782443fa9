using System.Text.Json;

namespace Containerd.Shared.Oci;

/// <summary>
/// The run-time part of an image config blob (OCI or docker: both keep it under
/// <c>config</c>), as the image gives it: no defaults applied, the user as the
/// image spells it (a name is resolved by whoever can read the image's /etc/passwd).
/// </summary>
public sealed record ImageConfig(
    IReadOnlyList<string> Entrypoint,
    IReadOnlyList<string> Cmd,
    IReadOnlyList<string> Env,
    string WorkingDir,
    string User)
{
    public static ImageConfig Empty { get; } = new([], [], [], "", "");

    /// <summary>The signal that stops the image's process (e.g. SIGQUIT), as the image spells it; empty for none.</summary>
    public string StopSignal { get; init; } = "";

    /// <exception cref="FormatException">The blob is not JSON.</exception>
    public static ImageConfig Parse(ReadOnlySpan<byte> configJson)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(configJson.ToArray());
        }
        catch (JsonException e)
        {
            throw new FormatException($"image config is not valid JSON: {e.Message}");
        }
        using (document)
        {
            var config = document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("config", out var c) && c.ValueKind == JsonValueKind.Object ? c : default;
            return new ImageConfig(
                Strings(config, "Entrypoint"),
                Strings(config, "Cmd"),
                Strings(config, "Env"),
                String(config, "WorkingDir"),
                String(config, "User"))
            {
                StopSignal = String(config, "StopSignal"),
            };
        }
    }

    private static List<string> Strings(JsonElement config, string name) =>
        config.ValueKind == JsonValueKind.Object && config.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Array
            ? [.. value.EnumerateArray().Where(v => v.ValueKind == JsonValueKind.String).Select(v => v.GetString()!)]
            : [];

    private static string String(JsonElement config, string name) =>
        config.ValueKind == JsonValueKind.Object && config.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString() ?? ""
            : "";
}
