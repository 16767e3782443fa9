using System.Text.Json;

namespace Containerd.Shim.Runc;

/// <summary>
/// Reads runc's <c>--log-format json</c> log. runc writes one object per line
/// (<c>{"level":"error","msg":"...","time":"..."}</c>); its error words are the
/// msg of the last error line.
/// </summary>
internal static class RuncLog
{
    public static string? LastError(ReadOnlySpan<byte> log)
    {
        string? last = null;
        while (!log.IsEmpty)
        {
            var end = log.IndexOf((byte)'\n');
            var line = end < 0 ? log : log[..end];
            log = end < 0 ? [] : log[(end + 1)..];
            if (TryParse(line, out var level, out var message)
                && (level is "error" or "fatal" or "panic")
                && !string.IsNullOrWhiteSpace(message))
                last = message;
        }
        return last;
    }

    private static bool TryParse(ReadOnlySpan<byte> line, out string? level, out string? message)
    {
        level = null;
        message = null;
        if (line.Trim((byte)' ').IsEmpty)
            return false;
        try
        {
            var reader = new Utf8JsonReader(line);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                return false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isLevel = reader.ValueTextEquals("level"u8);
                var isMessage = reader.ValueTextEquals("msg"u8);
                if (!reader.Read())
                    return false;
                if (reader.TokenType == JsonTokenType.String)
                {
                    if (isLevel)
                        level = reader.GetString();
                    else if (isMessage)
                        message = reader.GetString();
                }
                else
                {
                    reader.Skip();
                }
            }
            return level is not null;
        }
        catch (JsonException)
        {
            // A torn or foreign line; the other lines still count.
            return false;
        }
    }

    /// <summary>Parses <c>runc ps --format json</c>: a JSON array of pids (or null).</summary>
    public static List<int> ParsePids(ReadOnlySpan<byte> json)
    {
        var pids = new List<int>();
        var reader = new Utf8JsonReader(json);
        if (!reader.Read() || reader.TokenType == JsonTokenType.Null)
            return pids;
        if (reader.TokenType != JsonTokenType.StartArray)
            throw new JsonException("runc ps did not print a JSON array");
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            pids.Add(reader.GetInt32());
        return pids;
    }

    /// <summary>Reads "status" from <c>runc state</c> output (created, running, paused, stopped).</summary>
    public static string? ParseStateStatus(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            return null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isStatus = reader.ValueTextEquals("status"u8);
            reader.Read();
            if (isStatus && reader.TokenType == JsonTokenType.String)
                return reader.GetString();
            reader.Skip();
        }
        return null;
    }
}
