using System.Text.Json;

namespace Containerd.Daemon.Cri.Common;

/// <summary>
/// The verbose <c>info</c> values of the CRI's status calls: each is a JSON text,
/// as containerd writes them and as crictl parses them. Written through
/// Utf8JsonWriter, so Native AOT needs no reflection.
/// </summary>
public static class CriInfo
{
    public static string Json(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
            write(writer);
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }
}
