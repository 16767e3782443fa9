using Containerd.Shared.Images;
using System.Threading.Channels;
using Containerd.Daemon.Hosting;
using Containerd.Daemon.Images.Distribution;
using Containerd.Daemon.Metadata;
using Containerd.Daemon.Snapshots;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using ImagesApi = Containerd.Api.Images;

namespace Containerd.Daemon.Images;

/// <summary>
/// containerd.services.images.v1.Pull, this daemon's own: containerd pulls in
/// its client, but the CRI adapter pulls through the daemon, so the daemon
/// does. Fetches into the content store, records the image under its
/// normalised name in the caller's namespace, unpacks it (unless asked not
/// to), and streams each blob's progress, then the image.
/// </summary>
public sealed class PullService(
    IImagePuller puller,
    IUnpacker unpacker,
    ImageStore store,
    LeaseStore leases,
    ImageGc gc,
    GcGate gate,
    CrashPoints crashPoints,
    ILogger<PullService> logger) : ImagesApi.Pull.PullBase
{
    /// <summary>Progress of one blob goes out at most this often (the last state of each blob always does).</summary>
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(100);

    public override async Task Pull(ImagesApi.PullRequest request, IServerStreamWriter<ImagesApi.PullProgress> responseStream, ServerCallContext context)
    {
        var @namespace = RequestNamespace.Of(context);
        var cancellationToken = context.CancellationToken;
        try
        {
            ImageReference.Parse(request.Reference);
            ImagePlatform.Parse(request.Platform);
        }
        catch (Exception e) when (e is RegistryException or FormatException)
        {
            throw RpcErrors.InvalidArgument(e.Message);
        }

        // Every blob this pull writes is leased first: what a failure (or a kill -9) leaves is known and collected.
        var leaseId = Guid.NewGuid().ToString("N");
        var progress = Channel.CreateUnbounded<PullProgress>(new UnboundedChannelOptions { SingleReader = true });
        var sender = SendProgressAsync(progress.Reader, responseStream, cancellationToken);
        var options = new PullOptions(
            PlainHttp: request.PlainHttp,
            Credentials: request.Username.Length > 0 || request.Password.Length > 0 ? new RegistryCredentials(request.Username, request.Password) : null,
            Progress: new Progress(progress.Writer),
            Platform: request.Platform.Length > 0 ? request.Platform : null,
            BeforeWrite: (digests, ct) => leases.AddAsync(leaseId, digests, ct));

        ImagesApi.Image record;
        ImagesApi.Image? previous;
        PulledImage pulled;
        var chainId = "";
        // The lease keeps the collector off blobs no record names yet (and off the unpack's snapshots).
        using (var lease = await gate.UseAsync(cancellationToken).ConfigureAwait(false))
        {
            try
            {
                try
                {
                    pulled = await puller.PullAsync(request.Reference, options, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    // Every report is out before the next message (or the error) is.
                    progress.Writer.TryComplete();
                    await sender.ConfigureAwait(false);
                }
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
                await AbandonAsync(leaseId, request.Reference).ConfigureAwait(false);
                if (e is RegistryException registry)
                    throw ToRpc(registry);
                throw;
            }

            if (request.Unpack is not false && pulled.Layers.Count > 0)
            {
                await responseStream.WriteAsync(new ImagesApi.PullProgress { Status = "unpacking" }, cancellationToken).ConfigureAwait(false);
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

        await responseStream.WriteAsync(new ImagesApi.PullProgress
        {
            Image = new ImagesApi.PulledImage { Image = record, Manifest = pulled.Manifest, Config = pulled.Config, ChainId = chainId },
        }, cancellationToken).ConfigureAwait(false);
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
    /// Sends each blob's latest state, coalesced per blob every <see cref="ProgressInterval"/>:
    /// a fast registry reports far more often than a terminal can show.
    /// </summary>
    private static async Task SendProgressAsync(ChannelReader<PullProgress> reader, IServerStreamWriter<ImagesApi.PullProgress> stream, CancellationToken cancellationToken)
    {
        var latest = new Dictionary<string, PullProgress>(StringComparer.Ordinal);
        var order = new List<string>();
        while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            while (reader.TryRead(out var item))
            {
                if (!latest.ContainsKey(item.Digest))
                    order.Add(item.Digest);
                latest[item.Digest] = item;
            }
            foreach (var digest in order)
            {
                var item = latest[digest];
                await stream.WriteAsync(new ImagesApi.PullProgress
                {
                    Blob = new ImagesApi.BlobProgress
                    {
                        Digest = item.Digest, MediaType = item.MediaType, Done = item.Done, Total = item.Total,
                        Phase = PhaseName(item.Phase),
                    },
                }, cancellationToken).ConfigureAwait(false);
            }
            latest.Clear();
            order.Clear();
            await Task.Delay(ProgressInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    private static string PhaseName(PullPhase phase) => phase switch
    {
        PullPhase.Waiting => "waiting",
        PullPhase.Downloading => "downloading",
        PullPhase.Exists => "exists",
        PullPhase.Verifying => "verifying",
        PullPhase.Done => "done",
        _ => "unknown",
    };

    /// <summary>Hands the puller's reports to the sender without blocking the download.</summary>
    private sealed class Progress(ChannelWriter<PullProgress> writer) : IProgress<PullProgress>
    {
        public void Report(PullProgress value) => writer.TryWrite(value);
    }
}
