using System.Text.Json;
using System.Text.Json.Nodes;

namespace Containerd.Daemon.Tasks;

/// <summary>
/// The config.json the daemon writes into a task's bundle: the container's
/// spec, with a cgroups path of the task's own namespace when the spec names
/// none. Left empty, runc puts every container in <c>/ID</c>, so equal ids in
/// two namespaces would share a cgroup (and its limits); containerd uses
/// <c>/NAMESPACE/ID</c>, and so does this. Built with JsonNode and written
/// through Utf8JsonWriter: nothing reflection-based, so Native AOT stays clean.
/// </summary>
public static class BundleConfig
{
    /// <summary>The bytes to write; a spec that is not a JSON object goes through unchanged, for runc to judge.</summary>
    public static byte[] For(ReadOnlySpan<byte> spec, string @namespace, string id)
    {
        JsonObject root;
        try
        {
            if (JsonNode.Parse(spec.ToArray()) is not JsonObject parsed)
                return spec.ToArray();
            root = parsed;
        }
        catch (JsonException)
        {
            return spec.ToArray();
        }

        if (root["linux"] is not JsonObject linux)
        {
            if (root["linux"] is not null)
                return spec.ToArray();
            root["linux"] = linux = new JsonObject();
        }
        if (linux["cgroupsPath"] is JsonValue existing && existing.TryGetValue<string>(out var path) && path.Length > 0)
            return spec.ToArray();
        linux["cgroupsPath"] = CgroupsPath(@namespace, id);

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
            root.WriteTo(writer);
        return buffer.ToArray();
    }

    public static string CgroupsPath(string @namespace, string id) => $"/{@namespace}/{id}";
}
