using System.Text;
using System.Text.Json;

namespace Containerd.Daemon.Metadata;

/// <summary>Labels are stored as one JSON object; written and read without reflection.</summary>
internal static class LabelsJson
{
    public static string Write(IEnumerable<KeyValuePair<string, string>> labels)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var (key, value) in labels.OrderBy(l => l.Key, StringComparer.Ordinal))
                writer.WriteString(key, value);
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    public static void ReadInto(string json, IDictionary<string, string> labels)
    {
        using var document = JsonDocument.Parse(json);
        foreach (var property in document.RootElement.EnumerateObject())
            labels[property.Name] = property.Value.GetString() ?? "";
    }
}
