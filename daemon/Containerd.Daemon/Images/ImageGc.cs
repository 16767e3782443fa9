using Containerd.Shared.Images;
using Containerd.Daemon.Content;
using Containerd.Daemon.Metadata;
using Containerd.Daemon.Snapshots;
using Microsoft.Extensions.Logging;

namespace Containerd.Daemon.Images;

/// <summary>
/// containerd's garbage collection, simplified: the roots are every image
/// record (all namespaces) and every container snapshot whose container
/// record exists. From an image's target, the index, manifests, configs and
/// layers are reachable, and each manifest's chain ids (the unpacked
/// snapshots); from a container's snapshot, its parents. Unreachable
/// snapshots are removed, children first.
/// </summary>
/// <remarks>
/// Content is collected only among candidates: the blobs of an image that was
/// deleted or re-pointed, and the blobs a pull leased (<see cref="Metadata.LeaseStore"/>)
/// when it failed, was cancelled, or was cut short by a crash (collected at the
/// next start-up). The content store also holds blobs no image names
/// (checkpoints from <c>ctr tasks checkpoint</c>), and it has no labels to say
/// whose a blob is, so a blob the image side never owned is never removed.
/// </remarks>
public sealed class ImageGc(
    ImageStore images,
    ContainerStore containers,
    IContentStore content,
    ISnapshotter snapshotter,
    ImageResolver resolver,
    GcGate gate,
    ILogger<ImageGc> logger)
{
    /// <summary>Every blob reachable from <paramref name="target"/> (to compute the candidates before a record goes).</summary>
    public async Task<IReadOnlyCollection<string>> BlobsOfAsync(BlobRef target, CancellationToken cancellationToken) =>
        (await Reachability.ContentAsync([target], SafeChildrenAsync, cancellationToken).ConfigureAwait(false)).Keys;

    /// <summary>Collects unreachable snapshots, and those of <paramref name="contentCandidates"/> no image reaches any more.</summary>
    public Task<(int Blobs, int Snapshots)> CollectAsync(IReadOnlyCollection<string> contentCandidates, CancellationToken cancellationToken) =>
        gate.ExclusiveAsync(() => CollectCoreAsync(contentCandidates, cancellationToken), cancellationToken);

    /// <summary>
    /// A collection of snapshots in the background: after a container's snapshot went,
    /// the image layers below it may have lost their last owner (the image was removed
    /// while the container lived). Not awaited: the caller must not wait behind a pull's lease.
    /// </summary>
    public void CollectSoon() => _ = Task.Run(async () =>
    {
        try
        {
            await CollectAsync([], CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            logger.LogWarning("gc after a container delete failed: {Error}", e.Message);
        }
    });

    private async Task<(int Blobs, int Snapshots)> CollectCoreAsync(IReadOnlyCollection<string> contentCandidates, CancellationToken cancellationToken)
    {
        var roots = (await images.ListAllAsync(cancellationToken).ConfigureAwait(false)).Select(i => BlobRef.FromApi(i.Target));
        var reachable = await Reachability.ContentAsync(roots, SafeChildrenAsync, cancellationToken).ConfigureAwait(false);

        var snapshotRoots = new List<string>();
        foreach (var blob in reachable.Values.Where(b => ImageMediaTypes.IsManifest(b.MediaType)))
            snapshotRoots.AddRange(await ChainIdsOfAsync(blob, cancellationToken).ConfigureAwait(false));
        var all = snapshotter.List();
        foreach (var snapshot in all)
        {
            if (ContainerSnapshots.ParseKey(snapshot.Key) is { } owner
                && await containers.GetAsync(owner.Namespace, owner.Id, cancellationToken).ConfigureAwait(false) is not null)
            {
                snapshotRoots.Add(snapshot.Key);
            }
        }
        var keep = Reachability.Snapshots(snapshotRoots, all);

        var snapshots = 0;
        foreach (var key in Reachability.RemovalOrder(all, keep))
        {
            try
            {
                await snapshotter.RemoveAsync(key, cancellationToken).ConfigureAwait(false);
                snapshots++;
            }
            catch (Exception e) when (e is SnapshotPreconditionException or SnapshotNotFoundException or IOException or UnauthorizedAccessException)
            {
                // In use after all (a mount the daemon does not know of) or already gone: the next collection tries again.
                logger.LogWarning("gc: snapshot {Key} stays: {Error}", key, e.Message);
            }
        }

        var blobs = 0;
        foreach (var digest in contentCandidates.Where(d => !reachable.ContainsKey(d)))
        {
            try
            {
                if (content.Delete(digest))
                    blobs++;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDigestException)
            {
                logger.LogWarning("gc: blob {Digest} stays: {Error}", digest, e.Message);
            }
        }
        if (blobs + snapshots > 0)
            logger.LogInformation("gc removed {Blobs} blobs and {Snapshots} snapshots", blobs, snapshots);
        return (blobs, snapshots);
    }

    /// <summary>A damaged or absent document has no children: it keeps nothing alive, and stops nothing.</summary>
    private async Task<IReadOnlyList<BlobRef>> SafeChildrenAsync(BlobRef blob, CancellationToken cancellationToken)
    {
        try
        {
            return await resolver.ChildrenAsync(blob, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ImageFormatException or ContentNotFoundException or InvalidDigestException)
        {
            return [];
        }
    }

    private async Task<IReadOnlyList<string>> ChainIdsOfAsync(BlobRef manifest, CancellationToken cancellationToken)
    {
        try
        {
            if (content.Info(manifest.Digest) is null)
                return [];
            var (config, _) = ImageJson.Manifest(await resolver.ReadAsync(manifest.Digest, cancellationToken).ConfigureAwait(false));
            if (content.Info(config.Digest) is null)
                return [];
            return ChainIds.Of(ImageJson.DiffIds(await resolver.ReadAsync(config.Digest, cancellationToken).ConfigureAwait(false)));
        }
        catch (Exception e) when (e is ImageFormatException or ContentNotFoundException or InvalidDigestException)
        {
            return [];
        }
    }
}
