using System.Security.Cryptography;
using System.Text;
using Containerd.Daemon.Content;
using ContentDescriptor = Containerd.Api.Types.ContentDescriptor;
using Mount = Containerd.Api.Types.Mount;

namespace Containerd.Daemon.Snapshots;

/// <summary>
/// Unpacks layers as containerd's unpacker with the overlay differ: each layer
/// is applied straight into the upper directory of a snapshot prepared on the
/// previous chain id (no mount needed), then committed under its own chain id,
/// so an image sharing layers with another reuses their snapshots.
/// </summary>
public sealed class Unpacker(IContentStore content, ISnapshotter snapshotter, ILayerApplier applier) : IUnpacker
{
    /// <inheritdoc/>
    public async Task<string> UnpackAsync(IReadOnlyList<ContentDescriptor> layers, IReadOnlyList<string> diffIds, CancellationToken cancellationToken)
    {
        if (layers.Count != diffIds.Count)
            throw new InvalidDataException($"the image has {layers.Count} layers but its config lists {diffIds.Count} diff ids");
        if (layers.Count == 0)
            throw new InvalidDataException("the image has no layers");

        string? parent = null;
        for (int i = 0; i < layers.Count; i++)
        {
            string chainId = parent is null ? diffIds[i] : ChainId(parent, diffIds[i]);
            if (snapshotter.Stat(chainId) is not { Kind: SnapshotKind.Committed })
                await UnpackLayerAsync(layers[i], diffIds[i], chainId, parent, cancellationToken).ConfigureAwait(false);
            parent = chainId;
        }

        return parent!;
    }

    /// <summary>containerd's identity.ChainID step: sha256 of "PARENT DIFFID".</summary>
    public static string ChainId(string parent, string diffId) =>
        "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{parent} {diffId}")));

    /// <summary>The lowerdirs of an overlay mount, top first, as containerd's overlay differ reads them; none for a bind.</summary>
    public static IReadOnlyList<string> LowerDirectories(IReadOnlyList<Mount> mounts)
    {
        foreach (var mount in mounts)
        {
            if (mount.Type != "overlay")
                continue;
            foreach (string option in mount.Options)
            {
                if (option.StartsWith("lowerdir=", StringComparison.Ordinal))
                    return option["lowerdir=".Length..].Split(':', StringSplitOptions.RemoveEmptyEntries);
            }
        }

        return [];
    }

    private async Task UnpackLayerAsync(ContentDescriptor layer, string diffId, string chainId, string? parent, CancellationToken cancellationToken)
    {
        // A unique key: two pulls of one image may extract the same layer at once; the later commit loses.
        string key = $"extract-{Guid.NewGuid():N} {chainId}";
        var mounts = await snapshotter.PrepareAsync(key, parent, cancellationToken).ConfigureAwait(false);
        bool committed = false;
        try
        {
            string applied;
            await using (var blob = content.OpenRead(layer.Digest))
                applied = await applier.ApplyAsync(blob, layer.MediaType, snapshotter.UpperDirectory(key), LowerDirectories(mounts), cancellationToken).ConfigureAwait(false);
            if (applied != diffId)
                throw new InvalidDataException($"layer {layer.Digest}: its uncompressed digest is {applied}, the image config says {diffId}");
            try
            {
                await snapshotter.CommitAsync(chainId, key, cancellationToken).ConfigureAwait(false);
                committed = true;
            }
            catch (SnapshotExistsException) when (snapshotter.Stat(chainId) is { Kind: SnapshotKind.Committed })
            {
                // Another unpack committed the same layer first; its snapshot is as good as ours.
            }
        }
        finally
        {
            if (!committed)
                await snapshotter.RemoveAsync(key, CancellationToken.None).ConfigureAwait(false);
        }
    }
}
