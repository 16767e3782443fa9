using System.Text.Json;
using Descriptor = Containerd.Api.Types.ContentDescriptor;

namespace Containerd.Daemon.Images.Distribution;

/// <summary>
/// Reads manifests, indexes and image configs (OCI and docker v2 schema 2) and
/// checks what the puller relies on: every descriptor has a well-formed sha256
/// digest and a size, so nothing from a registry can name a path or a negative length.
/// </summary>
public static class ManifestParser
{
    /// <summary>
    /// The document's media type: its own <c>mediaType</c> field, else the
    /// Content-Type when it is a known one, else what its fields say (OCI lets
    /// a document omit mediaType). Schema 1 and unknown types are refused.
    /// </summary>
    public static string MediaTypeOf(byte[] body, string? contentType, string where)
    {
        var document = Deserialize(body, where);
        var declared = DistributionMediaTypes.Strip(document.MediaType);
        var served = DistributionMediaTypes.Strip(contentType);
        var mediaType = declared.Length > 0 ? declared
            : DistributionMediaTypes.IsIndex(served) || DistributionMediaTypes.IsManifest(served) || DistributionMediaTypes.IsSchema1(served) ? served
            : document.Manifests is not null ? DistributionMediaTypes.OciIndex
            : document.Config is not null ? DistributionMediaTypes.OciManifest
            : served;
        if (DistributionMediaTypes.IsSchema1(mediaType) || (document.SchemaVersion == 1 && declared.Length == 0))
            throw new RegistryException(RegistryErrorKind.InvalidManifest, $"{where}: docker schema 1 manifests are not supported (deprecated; re-push the image)");
        if (!DistributionMediaTypes.IsIndex(mediaType) && !DistributionMediaTypes.IsManifest(mediaType))
            throw new RegistryException(RegistryErrorKind.InvalidManifest, $"{where}: unsupported media type \"{mediaType}\"");
        return mediaType;
    }

    /// <summary>The entries of an index or manifest list.</summary>
    public static IReadOnlyList<OciDescriptorJson> ParseIndex(byte[] body, string where)
    {
        var document = Deserialize(body, where);
        if (document.Manifests is not { } manifests)
            throw new RegistryException(RegistryErrorKind.InvalidManifest, $"{where}: an index without \"manifests\"");
        foreach (var entry in manifests)
            Check(entry, where, "manifests[]");
        return manifests;
    }

    /// <summary>The config and layers of an image manifest.</summary>
    public static (Descriptor Config, IReadOnlyList<Descriptor> Layers) ParseManifest(byte[] body, string where)
    {
        var document = Deserialize(body, where);
        if (document.Config is not { } config)
            throw new RegistryException(RegistryErrorKind.InvalidManifest, $"{where}: a manifest without \"config\"");
        if (document.Layers is not { } layers)
            throw new RegistryException(RegistryErrorKind.InvalidManifest, $"{where}: a manifest without \"layers\"");
        return (Check(config, where, "config"), layers.Select(l => Check(l, where, "layers[]")).ToList());
    }

    /// <summary>
    /// The index entry for <paramref name="platform"/>: the first that matches (registries
    /// list the preferred variant first, as containerd assumes); attestation entries
    /// (unknown/unknown) never match. Null when none does.
    /// </summary>
    public static OciDescriptorJson? SelectPlatform(IReadOnlyList<OciDescriptorJson> entries, PlatformSpec platform)
    {
        var candidates = entries.Where(e => DistributionMediaTypes.IsManifest(DistributionMediaTypes.Strip(e.MediaType))
            || DistributionMediaTypes.IsIndex(DistributionMediaTypes.Strip(e.MediaType)));
        // An exact variant beats a variant-less entry that matches by default.
        return candidates.FirstOrDefault(e => e.Platform is { } p && platform.Matches(p.Os, p.Architecture, p.Variant)
                && (platform.Variant is null || string.Equals(p.Variant, platform.Variant, StringComparison.OrdinalIgnoreCase)))
            ?? candidates.FirstOrDefault(e => e.Platform is { } p && platform.Matches(p.Os, p.Architecture, p.Variant));
    }

    /// <summary>The config's <c>rootfs.diff_ids</c>, each a valid sha256 digest.</summary>
    public static IReadOnlyList<string> ParseDiffIds(byte[] config, string where)
    {
        ImageConfigJson? document;
        try
        {
            document = JsonSerializer.Deserialize(config, DistributionJsonContext.Default.ImageConfigJson);
        }
        catch (JsonException e)
        {
            throw new RegistryException(RegistryErrorKind.InvalidManifest, $"{where}: not a JSON image config: {e.Message}", innerException: e);
        }
        var diffIds = document?.Rootfs?.DiffIds
            ?? throw new RegistryException(RegistryErrorKind.InvalidManifest, $"{where}: image config has no rootfs.diff_ids");
        foreach (var diffId in diffIds)
        {
            if (!Content.ContentDigest.IsValid(diffId))
                throw new RegistryException(RegistryErrorKind.InvalidManifest, $"{where}: diff id \"{diffId}\" is not sha256: and 64 lowercase hex digits");
        }
        return diffIds;
    }

    public static Descriptor ToDescriptor(OciDescriptorJson entry) =>
        new() { MediaType = DistributionMediaTypes.Strip(entry.MediaType), Digest = entry.Digest ?? "", Size = entry.Size };

    private static Descriptor Check(OciDescriptorJson entry, string where, string field)
    {
        if (entry.Digest is not { } digest || !Content.ContentDigest.IsValid(digest))
            throw new RegistryException(RegistryErrorKind.InvalidManifest, $"{where}: {field} digest \"{entry.Digest}\" is not sha256: and 64 lowercase hex digits");
        if (entry.Size < 0)
            throw new RegistryException(RegistryErrorKind.InvalidManifest, $"{where}: {field} {digest} has a negative size {entry.Size}");
        if (string.IsNullOrEmpty(entry.MediaType))
            throw new RegistryException(RegistryErrorKind.InvalidManifest, $"{where}: {field} {digest} has no mediaType");
        return ToDescriptor(entry);
    }

    private static ManifestDocumentJson Deserialize(byte[] body, string where)
    {
        try
        {
            return JsonSerializer.Deserialize(body, DistributionJsonContext.Default.ManifestDocumentJson)
                ?? throw new RegistryException(RegistryErrorKind.InvalidManifest, $"{where}: the document is JSON null");
        }
        catch (JsonException e)
        {
            throw new RegistryException(RegistryErrorKind.InvalidManifest, $"{where}: not a JSON manifest: {e.Message}", innerException: e);
        }
    }
}
