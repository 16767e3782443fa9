using System.Text.Json;
using Containerd.Daemon.Hosting;
using Google.Protobuf.WellKnownTypes;

namespace Containerd.Daemon.Containers;

/// <summary>
/// Specs travel as JSON inside a protobuf Any (any type_url). Only the shape is
/// checked here: runc is the judge of the content, and its words reach the client.
/// </summary>
public static class SpecJson
{
    /// <summary>Throws InvalidArgument unless <paramref name="spec"/> holds a JSON object.</summary>
    /// <param name="what">Names the owner in messages, e.g. <c>container "web"</c>.</param>
    public static void RequireObject(Any? spec, string what)
    {
        if (spec is null)
            throw RpcErrors.InvalidArgument($"{what}: spec is required");
        try
        {
            using var document = JsonDocument.Parse(spec.Value.Memory);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw RpcErrors.InvalidArgument(
                    $"{what}: spec must be a JSON object, got a JSON {document.RootElement.ValueKind.ToString().ToLowerInvariant()}");
        }
        catch (JsonException e)
        {
            throw RpcErrors.InvalidArgument($"{what}: spec is not valid JSON: {e.Message}");
        }
    }
}
