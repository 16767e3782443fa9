using Containerd.Shared.Images;
using Containerd.Daemon.Hosting;
using Containerd.Daemon.Metadata;
using Containerd.Daemon.Snapshots;
using Microsoft.Extensions.Logging;
using ContainersApi = Containerd.Api.Containers;
using Mount = Containerd.Api.Types.Mount;

namespace Containerd.Daemon.Images;

/// <summary>
/// A container's root filesystem made from an image: an active snapshot on the
/// image's top chain id, prepared daemon-side when the container record is
/// created and removed when it is deleted, so it lives exactly as long as the
/// container (and persists across its tasks, as in containerd).
/// </summary>
/// <remarks>
/// containerd's clients prepare the snapshot themselves through the Snapshots
/// API and store snapshotter/snapshot_key on the record; this daemon's
/// Container message has neither field, so the request is a label
/// (<see cref="SnapshotterLabel"/> = <c>overlayfs</c>, with the image name in
/// Container.image) and the key is derived from (namespace, id). The CRI adapter
/// gets the same behaviour through the same record, without a Snapshots API.
/// </remarks>
public sealed class ContainerSnapshots(
    ImageStore images,
    ImageResolver resolver,
    IUnpacker unpacker,
    ISnapshotter snapshotter,
    GcGate gate,
    ILogger<ContainerSnapshots> logger)
{
    public const string SnapshotterLabel = ContainerRootfs.SnapshotterLabel;
    public const string Overlay = ContainerRootfs.Overlay;

    /// <summary>Container snapshots' keys start so; ':' never occurs in a namespace or id, so the key is unambiguous.</summary>
    public const string KeyPrefix = "container:";

    public static string KeyOf(string @namespace, string id) => $"{KeyPrefix}{@namespace}:{id}";

    /// <summary>The (namespace, id) a container snapshot's key names; null for any other key.</summary>
    public static (string Namespace, string Id)? ParseKey(string key)
    {
        if (!key.StartsWith(KeyPrefix, StringComparison.Ordinal))
            return null;
        var parts = key[KeyPrefix.Length..].Split(':');
        return parts.Length == 2 ? (parts[0], parts[1]) : null;
    }

    public static bool Wants(ContainersApi.Container container) => container.Labels.ContainsKey(SnapshotterLabel);

    /// <summary>
    /// Prepares the container's snapshot (unpacking the image first if it is not
    /// yet) and then runs <paramref name="insert"/>, all under a GC lease so the
    /// snapshot is never collected between its preparation and its record. When
    /// the insert fails or answers false, the snapshot is removed again.
    /// </summary>
    public async Task<bool> PrepareAsync(string @namespace, ContainersApi.Container container, Func<Task<bool>> insert, CancellationToken cancellationToken)
    {
        if (container.Labels[SnapshotterLabel] != Overlay)
            throw RpcErrors.InvalidArgument($"container \"{container.Id}\": snapshotter \"{container.Labels[SnapshotterLabel]}\" is unknown (only {Overlay})");
        if (container.Image.Length == 0)
            throw RpcErrors.InvalidArgument($"container \"{container.Id}\": label {SnapshotterLabel} needs an image");
        using var lease = await gate.UseAsync(cancellationToken).ConfigureAwait(false);
        var image = await images.GetAsync(@namespace, container.Image, cancellationToken).ConfigureAwait(false)
            ?? throw RpcErrors.NotFound($"image \"{container.Image}\" not found in namespace \"{@namespace}\"");
        ResolvedImage resolved;
        try
        {
            resolved = await resolver.ResolveAsync(BlobRef.FromApi(image.Target), ImagePlatform.Current, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ImageFormatException or Content.ContentNotFoundException)
        {
            throw RpcErrors.FailedPrecondition($"image \"{container.Image}\": {e.Message}");
        }
        string? parent = null;
        if (resolved.Layers.Count > 0)
        {
            try
            {
                // Usually a no-op: the pull unpacked it (a --no-unpack pull, or a snapshot collected since, is unpacked here).
                parent = await unpacker.UnpackAsync(resolved.Layers.Select(l => l.ToApi()).ToList(), resolved.DiffIds, cancellationToken)
                    .ConfigureAwait(false);
            }
            catch (Exception e) when (e is InvalidDataException or NotSupportedException or Content.ContentNotFoundException)
            {
                throw RpcErrors.FailedPrecondition($"image \"{container.Image}\" cannot be unpacked: {e.Message}");
            }
        }

        var key = KeyOf(@namespace, container.Id);
        try
        {
            await snapshotter.PrepareAsync(key, parent, cancellationToken).ConfigureAwait(false);
        }
        catch (SnapshotExistsException)
        {
            // Left by a create that died before its record (or a record deleted while the daemon was down).
            throw RpcErrors.AlreadyExists($"snapshot {key} for container \"{container.Id}\" already exists");
        }
        var inserted = false;
        try
        {
            inserted = await insert().ConfigureAwait(false);
            return inserted;
        }
        finally
        {
            if (!inserted)
                await RemoveAsync(@namespace, container.Id, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>The container's rootfs mounts for Tasks.Create.</summary>
    public IReadOnlyList<Mount> Mounts(string @namespace, string id)
    {
        try
        {
            return snapshotter.Mounts(KeyOf(@namespace, id));
        }
        catch (SnapshotNotFoundException)
        {
            throw RpcErrors.FailedPrecondition($"container \"{id}\" in namespace \"{@namespace}\" has lost its snapshot {KeyOf(@namespace, id)}");
        }
    }

    /// <summary>Removes the container's snapshot; an absent one is fine (the GC may have found it first).</summary>
    public async Task RemoveAsync(string @namespace, string id, CancellationToken cancellationToken)
    {
        var key = KeyOf(@namespace, id);
        try
        {
            await snapshotter.RemoveAsync(key, cancellationToken).ConfigureAwait(false);
            logger.LogInformation("snapshot removed {Key}", key);
        }
        catch (SnapshotNotFoundException)
        {
        }
    }
}
