using Containerd.Daemon.Hosting;
using Containerd.Daemon.Images.Distribution;
using Containerd.Daemon.Metadata;
using Containerd.Daemon.Snapshots;
using Containerd.Shared.Images;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using ImagesApi = Containerd.Api.Images;

namespace Containerd.Daemon.Images;

/// <summary>
/// A pull from start to end, for the Pull service and the CRI alike: fetch into
/// the content store, record the image under its normalised name in the given
/// namespace, unpack it, and collect what a moved tag no longer keeps alive.
/// Failures come out as gRPC statuses with the registry's words.
/// </summary>
public sealed class ImagePulls(
    IImagePuller puller,
    IUnpacker unpacker,
    ImageStore store,
    LeaseStore leases,
    ImageGc gc,
    GcGate gate,
    CrashPoints crashPoints,
    ILogger<ImagePulls> logger)
{
    /// <param name="beforeUnpack">Called once fetching is done and before unpacking starts (the Pull service tells its client).</param>
    public async Task<ImagePullResult> PullAsync(
        string @namespace, string reference, PullOptions options, bool unpack, Func<Task>? beforeUnpack, CancellationToken cancellationToken)
    {
        try
        {
            ImageReference.Parse(reference);
            ImagePlatform.Parse(options.Platform);
        }
        catch (Exception e) when (e is RegistryException or FormatException)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, e.Message), e.Message);
        }

        // Every blob this pull writes is leased first: what a failure (or a kill -9) leaves is known and collected.
        var leaseId = Guid.NewGuid().ToString("N");
        options = options with { BeforeWrite = (digests, ct) => leases.AddAsync(leaseId, digests, ct) };

        ImagesApi.Image record;
        ImagesApi.Image? previous;
        PulledImage pulled;
        var chainId = "";
        // The lease keeps the collector off blobs no record names yet (and off the unpack's snapshots).
        using (var lease = await gate.UseAsync(cancellationToken).ConfigureAwait(false))
        {
            try
            {
                pulled = await puller.PullAsync(reference, options, cancellationToken).ConfigureAwait(false);
                crashPoints.At(CrashPoints.PullDownloaded);

                previous = await store.GetAsync(@namespace, pulled.Name, cancellationToken).ConfigureAwait(false);
                var now = Timestamp.FromDateTime(DateTime.UtcNow);
                record = await store.PutAsync(@namespace, new ImagesApi.Image { Name = pulled.Name, Target = pulled.Target, UpdatedAt = now }, cancellationToken)
                    .ConfigureAwait(false);
                logger.LogInformation("image pulled {Namespace} {Name} {Digest}", @namespace, pulled.Name, pulled.Target.Digest);
                // The record reaches every blob now; from here an unpack failure collects by the record's target.
                await leases.ReleaseAsync(leaseId, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                lease.Dispose();
                await AbandonAsync(leaseId, reference).ConfigureAwait(false);
                if (e is RegistryException registry)
                    throw ToRpc(registry);
                throw;
            }

            if (unpack && pulled.Layers.Count > 0)
            {
                if (beforeUnpack is not null)
                    await beforeUnpack().ConfigureAwait(false);
                try
                {
                    chainId = await unpacker.UnpackAsync(pulled.Layers, pulled.DiffIds, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is InvalidDataException or NotSupportedException or IOException)
                {
                    logger.LogWarning("image unpack failed {Namespace} {Name}: {Error}", @namespace, pulled.Name, e.Message);
                    // An image that cannot be unpacked is not kept: the record goes (or returns to
                    // what it was) and the collector takes what only this pull brought.
                    if (previous is null)
                        await store.DeleteAsync(@namespace, pulled.Name, CancellationToken.None).ConfigureAwait(false);
                    else
                        await store.TryReplaceAsync(@namespace, previous, CancellationToken.None).ConfigureAwait(false);
                    lease.Dispose();
                    await CollectAsync(BlobRef.FromApi(pulled.Target)).ConfigureAwait(false);
                    var reason = e is NotSupportedException ? StatusCode.Unimplemented : StatusCode.InvalidArgument;
                    var message = $"image \"{pulled.Name}\" cannot be unpacked: {e.Message}";
                    throw new RpcException(new Status(reason, message), message);
                }
            }
        }

        // A tag moved to a new target: what only the old one kept alive goes.
        if (previous is not null && previous.Target.Digest != pulled.Target.Digest)
            await CollectAsync(BlobRef.FromApi(previous.Target)).ConfigureAwait(false);
        return new ImagePullResult(record, pulled, chainId);
    }

    /// <summary>The registry's words, under the status code a client can act on.</summary>
    public static RpcException ToRpc(RegistryException e)
    {
        var code = e.Kind switch
        {
            RegistryErrorKind.NotFound => StatusCode.NotFound,
            RegistryErrorKind.Unauthorized => StatusCode.Unauthenticated,
            RegistryErrorKind.InvalidReference => StatusCode.InvalidArgument,
            RegistryErrorKind.InvalidManifest => StatusCode.InvalidArgument,
            RegistryErrorKind.DigestMismatch => StatusCode.DataLoss,
            RegistryErrorKind.Unavailable or RegistryErrorKind.Tls or RegistryErrorKind.Protocol => StatusCode.Unavailable,
            _ => StatusCode.Unavailable,
        };
        return new RpcException(new Status(code, e.Message), e.Message);
    }

    /// <summary>
    /// A pull that failed or was cancelled: the blobs it wrote that no image reaches go, then its lease.
    /// Not cancelled with the call; a failure here leaves the lease for the next start-up.
    /// </summary>
    private async Task AbandonAsync(string leaseId, string reference)
    {
        try
        {
            var digests = await leases.DigestsAsync(leaseId, CancellationToken.None).ConfigureAwait(false);
            if (digests.Count > 0)
            {
                var (blobs, _) = await gc.CollectAsync(digests, CancellationToken.None).ConfigureAwait(false);
                logger.LogInformation("pull of {Reference} abandoned: {Blobs} of its {Leased} blobs collected", reference, blobs, digests.Count);
            }
            await leases.ReleaseAsync(leaseId, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // The pull's own error is what the client must hear; its leftovers wait for the next start-up.
            logger.LogWarning("pull of {Reference}: collecting what it left failed, the next start-up will: {Error}", reference, e.Message);
        }
    }

    /// <summary>Not cancelled with the call: once started, a collection finishes (it is short).</summary>
    private async Task CollectAsync(BlobRef target)
    {
        var candidates = await gc.BlobsOfAsync(target, CancellationToken.None).ConfigureAwait(false);
        await gc.CollectAsync(candidates, CancellationToken.None).ConfigureAwait(false);
    }
}
