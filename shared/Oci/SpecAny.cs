using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace Containerd.Shared.Oci;

/// <summary>Wraps OCI JSON documents in the protobuf Any the API carries them in.</summary>
public static class SpecAny
{
    public const string RuntimeSpecType = "types.containerd.io/opencontainers/runtime-spec/1/Spec";
    public const string ProcessSpecType = "types.containerd.io/opencontainers/runtime-spec/1/Process";

    public static Any Pack(string typeUrl, JsonNode document) => new()
    {
        TypeUrl = typeUrl,
        Value = ByteString.CopyFrom(Encoding.UTF8.GetBytes(document.ToJsonString())),
    };

    /// <summary>The Any's JSON value, or its raw text when it is not JSON (shown rather than hidden).</summary>
    public static JsonNode? Unpack(Any? any)
    {
        if (any is null || any.Value.IsEmpty)
            return null;
        try
        {
            return JsonNode.Parse(any.Value.Span);
        }
        catch (JsonException)
        {
            return JsonValue.Create(any.Value.ToStringUtf8());
        }
    }
}
