using Containerd.Daemon.Content;
using Containerd.Shared.Images;

namespace Containerd.Daemon.Images;

/// <summary>Follows an image's target through the content store: index → platform manifest → config and layers.</summary>
public sealed class ImageResolver(IContentStore content)
{
    /// <summary>Bigger manifests and configs than this are refused: they are read whole into memory.</summary>
    private const int MaxDocumentBytes = 8 * 1024 * 1024;

    /// <exception cref="ContentNotFoundException">A blob on the way is not in the store.</exception>
    /// <exception cref="ImageFormatException">A document is malformed, or no manifest matches the platform.</exception>
    public Task<ResolvedImage> ResolveAsync(BlobRef target, ImagePlatform platform, CancellationToken cancellationToken) =>
        ImageWalk.ResolveAsync(target, platform, ReadAsync, cancellationToken);

    /// <summary>The blobs a blob names: an index its manifests, a manifest its config and layers; nothing for anything else or an absent blob.</summary>
    public async Task<IReadOnlyList<BlobRef>> ChildrenAsync(BlobRef blob, CancellationToken cancellationToken)
    {
        if (!ImageMediaTypes.IsIndex(blob.MediaType) && !ImageMediaTypes.IsManifest(blob.MediaType))
            return [];
        if (content.Info(blob.Digest) is null)
            return [];
        var json = await ReadAsync(blob.Digest, cancellationToken).ConfigureAwait(false);
        if (ImageMediaTypes.IsIndex(blob.MediaType))
            return ImageJson.IndexManifests(json).Select(e => e.Manifest).ToList();
        var (config, layers) = ImageJson.Manifest(json);
        return [config, .. layers];
    }

    public async Task<byte[]> ReadAsync(string digest, CancellationToken cancellationToken)
    {
        var stream = content.OpenRead(digest);
        await using (stream.ConfigureAwait(false))
        {
            if (stream.Length > MaxDocumentBytes)
                throw new ImageFormatException($"{digest} is {stream.Length} bytes, more than a manifest or config may be ({MaxDocumentBytes})");
            var buffer = new byte[stream.Length];
            await stream.ReadExactlyAsync(buffer, cancellationToken).ConfigureAwait(false);
            return buffer;
        }
    }
}
