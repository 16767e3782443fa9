namespace Containerd.Shared.Images;

/// <summary>
/// Follows an image's target to one platform: index → manifest → config and
/// layers. Shared by the daemon (reading its content store) and ctr (reading
/// through the Content API), so both pick the same manifest.
/// </summary>
public static class ImageWalk
{
    /// <param name="read">The bytes of a blob by digest.</param>
    /// <exception cref="ImageFormatException">A document is malformed, or no manifest matches the platform.</exception>
    public static async Task<ResolvedImage> ResolveAsync(
        BlobRef target, ImagePlatform platform, Func<string, CancellationToken, Task<byte[]>> read, CancellationToken cancellationToken)
    {
        var manifest = target;
        if (ImageMediaTypes.IsIndex(target.MediaType))
        {
            var entries = ImageJson.IndexManifests(await read(target.Digest, cancellationToken).ConfigureAwait(false));
            // An entry without a platform fits any (single-image indexes written by hand often omit it).
            var chosen = entries.Where(e => platform.Matches(e.Os, e.Architecture, e.Variant)).Select(e => e.Manifest).FirstOrDefault()
                ?? entries.Where(e => e.Os.Length == 0 && e.Architecture.Length == 0).Select(e => e.Manifest).FirstOrDefault();
            manifest = chosen ?? throw new ImageFormatException($"index {target.Digest} has no manifest for {platform}");
        }
        else if (!ImageMediaTypes.IsManifest(target.MediaType))
        {
            throw new ImageFormatException($"image target {target.Digest} has media type \"{target.MediaType}\", neither a manifest nor an index");
        }

        var (config, layers) = ImageJson.Manifest(await read(manifest.Digest, cancellationToken).ConfigureAwait(false));
        var configJson = await read(config.Digest, cancellationToken).ConfigureAwait(false);
        var diffIds = ImageJson.DiffIds(configJson);
        if (diffIds.Count != layers.Count)
            throw new ImageFormatException($"image config {config.Digest} lists {diffIds.Count} diff ids for {layers.Count} layers");
        return new ResolvedImage(target, manifest, config, layers, diffIds, configJson);
    }
}
