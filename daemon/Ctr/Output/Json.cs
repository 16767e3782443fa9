using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf.WellKnownTypes;

namespace Containerd.Ctr.Output;

/// <summary>Indented JSON output without reflection-based serialization (Native AOT).</summary>
public static class Json
{
    public static string Indented(JsonNode node)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
            node.WriteTo(writer);
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    public static JsonNode? Time(Timestamp? timestamp) =>
        timestamp is null ? null : JsonValue.Create(timestamp.ToDateTime().ToString("o", System.Globalization.CultureInfo.InvariantCulture));
}
