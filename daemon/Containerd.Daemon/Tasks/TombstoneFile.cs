using System.Text.Json;
using Containerd.Api.Shim;
using Containerd.Shared.Bundles;
using Google.Protobuf.WellKnownTypes;

namespace Containerd.Daemon.Tasks;

/// <summary>
/// A stopped task on disk (BUNDLE/<c>tombstone.json</c>, see
/// <see cref="TaskBundle.TombstoneFile"/>): its init pid and stdio and its
/// <see cref="TaskTombstone"/>, so a daemon restarted before Delete still
/// answers for the task with the same exits. Written whole (AtomicFile) with a
/// hand-driven Utf8JsonWriter and read with JsonDocument: no reflection, so
/// Native AOT has nothing to warn about. Times are kept as seconds and nanos,
/// so Delete reports exactly what the EXIT event carried.
/// </summary>
public static class TombstoneFile
{
    private const int Version = 1;

    public static byte[] Serialize(BuriedTask task)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("version", Version);
            json.WriteNumber("initPid", task.InitPid);
            json.WriteStartObject("stdio");
            json.WriteString("stdin", task.Stdio.Stdin);
            json.WriteString("stdout", task.Stdio.Stdout);
            json.WriteString("stderr", task.Stdio.Stderr);
            json.WriteBoolean("terminal", task.Stdio.Terminal);
            json.WriteEndObject();
            json.WriteNumber("exitStatus", task.Tombstone.ExitStatus);
            WriteTime(json, task.Tombstone.ExitedAt);
            json.WriteStartArray("execs");
            foreach (var exec in task.Tombstone.Execs)
            {
                json.WriteStartObject();
                json.WriteNumber("pid", exec.Pid);
                json.WriteNumber("exitStatus", exec.ExitStatus);
                WriteTime(json, exec.ExitedAt);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>The task, or null (and why) when the content is not a tombstone this version wrote.</summary>
    public static BuriedTask? Parse(ReadOnlySpan<byte> content, out string error)
    {
        try
        {
            using var document = JsonDocument.Parse(content.ToArray());
            var root = document.RootElement;
            if (root.GetProperty("version").GetInt32() != Version)
            {
                error = $"unknown tombstone version {root.GetProperty("version")}";
                return null;
            }
            var stdio = root.GetProperty("stdio");
            var execs = root.GetProperty("execs").EnumerateArray()
                .Select(e => new ExecExit(e.GetProperty("pid").GetUInt32(), e.GetProperty("exitStatus").GetUInt32(), ReadTime(e)))
                .ToList();
            error = "";
            return new BuriedTask(
                root.GetProperty("initPid").GetUInt32(),
                new Stdio
                {
                    Stdin = stdio.GetProperty("stdin").GetString() ?? "",
                    Stdout = stdio.GetProperty("stdout").GetString() ?? "",
                    Stderr = stdio.GetProperty("stderr").GetString() ?? "",
                    Terminal = stdio.GetProperty("terminal").GetBoolean(),
                },
                new TaskTombstone(root.GetProperty("exitStatus").GetUInt32(), ReadTime(root)) { Execs = execs });
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            error = e.Message;
            return null;
        }
    }

    public static void Write(TaskBundle bundle, BuriedTask task) => AtomicFile.Write(bundle.TombstoneFile, Serialize(task));

    /// <summary>The bundle's stopped task; null when it has no tombstone (<paramref name="error"/> empty) or an unreadable one.</summary>
    public static BuriedTask? Read(TaskBundle bundle, out string error)
    {
        byte[] content;
        try
        {
            content = File.ReadAllBytes(bundle.TombstoneFile);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            error = "";
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = e.Message;
            return null;
        }
        return Parse(content, out error);
    }

    private static void WriteTime(Utf8JsonWriter json, Timestamp at)
    {
        json.WriteStartObject("exitedAt");
        json.WriteNumber("seconds", at.Seconds);
        json.WriteNumber("nanos", at.Nanos);
        json.WriteEndObject();
    }

    private static Timestamp ReadTime(JsonElement parent)
    {
        var at = parent.GetProperty("exitedAt");
        return new Timestamp { Seconds = at.GetProperty("seconds").GetInt64(), Nanos = at.GetProperty("nanos").GetInt32() };
    }
}
