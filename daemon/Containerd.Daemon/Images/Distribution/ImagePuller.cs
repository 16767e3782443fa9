using System.Diagnostics;
using System.Net;
using Containerd.Daemon.Content;
using Microsoft.Extensions.Logging;
using Descriptor = Containerd.Api.Types.ContentDescriptor;

namespace Containerd.Daemon.Images.Distribution;

/// <summary>
/// Pulls an image into the content store: resolves the reference to an index or
/// manifest, picks the platform's manifest, then downloads config and layers in
/// parallel (bounded). Every blob goes through <see cref="IContentStore.WriteAsync"/>
/// with its expected digest and size, so nothing unverified becomes visible; blobs
/// the store already holds are not fetched again, and a blob an interrupted pull
/// left partly downloaded is resumed with a range request (<see cref="ContentIngest"/>).
/// </summary>
public sealed class ImagePuller(IContentStore store, RegistryHosts hosts, RegistryHttpClients clients, ILogger<ImagePuller> logger) : IImagePuller
{
    // An index may point at an index (nested multi-platform images); deeper is a loop or abuse.
    private const int MaxIndexDepth = 4;

    public async Task<PulledImage> PullAsync(string reference, PullOptions options, CancellationToken cancellationToken)
    {
        var image = ImageReference.Parse(reference);
        var platform = options.Platform is { } text ? PlatformSpec.Parse(text) : PlatformSpec.Current;
        var session = new RegistrySession(image, hosts.Resolve(image.Registry, options.PlainHttp), clients, options.Credentials, logger);
        var started = Stopwatch.GetTimestamp();
        logger.LogInformation("pulling {Image} for {Platform} from {Endpoints}", image, platform, string.Join(", ", session.Endpoints));

        // The target: by digest it may already be in the store (no registry round trip needed to resume).
        var target = await FetchManifestAsync(session, image.ManifestReference, image.Digest, null, options, cancellationToken).ConfigureAwait(false);
        var manifest = target;
        for (var depth = 0; DistributionMediaTypes.IsIndex(manifest.MediaType); depth++)
        {
            var where = $"index {manifest.Digest} of {image}";
            if (depth >= MaxIndexDepth)
                throw new RegistryException(RegistryErrorKind.InvalidManifest, $"{where}: indexes nested deeper than {MaxIndexDepth}");
            var entries = ManifestParser.ParseIndex(manifest.Body, where);
            var chosen = ManifestParser.SelectPlatform(entries, platform)
                ?? throw new RegistryException(RegistryErrorKind.NotFound,
                    $"{image}: no manifest for platform {platform} in {where} (it has: {Platforms(entries)})");
            manifest = await FetchManifestAsync(session, chosen.Digest!, chosen.Digest, chosen.Size, options, cancellationToken).ConfigureAwait(false);
        }

        var manifestWhere = $"manifest {manifest.Digest} of {image}";
        var (config, layers) = ManifestParser.ParseManifest(manifest.Body, manifestWhere);
        await DownloadBlobsAsync(session, [config, .. layers], options, cancellationToken).ConfigureAwait(false);

        byte[] configBytes;
        var configStream = store.OpenRead(config.Digest);
        await using (configStream.ConfigureAwait(false))
        {
            using var buffer = new MemoryStream();
            await configStream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
            configBytes = buffer.ToArray();
        }
        var diffIds = ManifestParser.ParseDiffIds(configBytes, $"config {config.Digest} of {image}");
        if (diffIds.Count != layers.Count)
            throw new RegistryException(RegistryErrorKind.InvalidManifest,
                $"{manifestWhere}: {layers.Count} layers but the config lists {diffIds.Count} diff ids");

        logger.LogInformation("pulled {Image}: manifest {Manifest}, {Layers} layers, {Bytes} bytes in {Elapsed} ms",
            image, manifest.Digest, layers.Count, config.Size + layers.Sum(l => l.Size), (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return new PulledImage(image.ToString(), target.Descriptor, manifest.Descriptor, config, layers, diffIds);
    }

    /// <summary>
    /// A manifest or index, stored in the content store. By digest, the store's copy is used
    /// when present (it was verified when written); a tag always asks the registry, since a tag moves.
    /// </summary>
    private async Task<FetchedManifest> FetchManifestAsync(
        RegistrySession session, string reference, string? digest, long? size, PullOptions options, CancellationToken cancellationToken)
    {
        if (digest is not null && store.Info(digest) is { } info && (size is null || info.Size == size) && info.Size <= RegistrySession.MaxManifestBytes)
        {
            var stream = store.OpenRead(digest);
            await using (stream.ConfigureAwait(false))
            {
                using var buffer = new MemoryStream();
                await stream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
                var body = buffer.ToArray();
                var where = $"manifest {digest} of {session.Reference} (content store)";
                logger.LogDebug("{What}: already in the content store", where);
                return new FetchedManifest(ManifestParser.MediaTypeOf(body, null, where), digest, body);
            }
        }
        var fetched = await session.FetchManifestAsync(reference, digest, size, cancellationToken).ConfigureAwait(false);
        if (options.BeforeWrite is { } beforeWrite)
            await beforeWrite([fetched.Digest], cancellationToken).ConfigureAwait(false);
        using var content = new MemoryStream(fetched.Body, writable: false);
        await store.WriteAsync(content, fetched.Digest, fetched.Body.Length, cancellationToken).ConfigureAwait(false);
        return fetched;
    }

    private async Task DownloadBlobsAsync(RegistrySession session, IReadOnlyList<Descriptor> blobs, PullOptions options, CancellationToken cancellationToken)
    {
        using var limit = new SemaphoreSlim(Math.Max(1, options.MaxConcurrentDownloads));
        // One failure cancels the others: a pull that cannot finish should not keep downloading.
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var unique = blobs.DistinctBy(b => b.Digest).ToList();
        foreach (var blob in unique)
            options.Progress?.Report(new PullProgress(blob.Digest, blob.MediaType, 0, blob.Size, PullPhase.Waiting));
        // What the store already holds is someone else's (or this pull's, recorded then): only the rest is leased.
        if (options.BeforeWrite is { } beforeWrite)
        {
            var missing = unique.Where(b => store.Info(b.Digest) is not { } info || info.Size != b.Size).Select(b => b.Digest).ToList();
            if (missing.Count > 0)
                await beforeWrite(missing, cancellationToken).ConfigureAwait(false);
        }
        var downloads = unique.Select(async blob =>
        {
            await limit.WaitAsync(failed.Token).ConfigureAwait(false);
            try
            {
                await DownloadBlobAsync(session, blob, options.Progress, failed.Token).ConfigureAwait(false);
            }
            catch
            {
                await failed.CancelAsync().ConfigureAwait(false);
                throw;
            }
            finally
            {
                limit.Release();
            }
        }).ToList();
        try
        {
            await Task.WhenAll(downloads).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // WhenAll surfaces the first task's exception, which may be a sibling's cancellation: report the cause.
            throw downloads.Where(d => d.IsFaulted).Select(d => d.Exception!.InnerException!).FirstOrDefault(e => e is not OperationCanceledException)
                ?? new RegistryException(RegistryErrorKind.Unavailable, $"{session.Reference}: download cancelled");
        }
    }

    private async Task DownloadBlobAsync(RegistrySession session, Descriptor blob, IProgress<PullProgress>? progress, CancellationToken cancellationToken)
    {
        if (store.Info(blob.Digest) is { } existing && existing.Size == blob.Size)
        {
            progress?.Report(new PullProgress(blob.Digest, blob.MediaType, blob.Size, blob.Size, PullPhase.Exists));
            return;
        }
        var where = $"blob {blob.Digest} of {session.Reference.Registry}/{session.Reference.Repository}";
        var ingest = store.TryOpenIngest(blob.Digest, blob.Size);
        if (ingest is null)
        {
            // Another pull in this daemon is writing the same blob: write a private copy (the store keeps one).
            await DownloadWholeAsync(session, blob, progress, where, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await using (ingest.ConfigureAwait(false))
                await DownloadResumableAsync(session, blob, ingest, progress, where, cancellationToken).ConfigureAwait(false);
        }
        logger.LogDebug("{What}: {Bytes} bytes stored", where, blob.Size);
        progress?.Report(new PullProgress(blob.Digest, blob.MediaType, blob.Size, blob.Size, PullPhase.Done));
    }

    private async Task DownloadWholeAsync(RegistrySession session, Descriptor blob, IProgress<PullProgress>? progress, string where, CancellationToken cancellationToken)
    {
        progress?.Report(new PullProgress(blob.Digest, blob.MediaType, 0, blob.Size, PullPhase.Downloading));
        using var response = await session.OpenBlobAsync(blob.Digest, 0, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var download = new BlobDownloadStream(body, blob.Digest, blob.MediaType, blob.Size, progress, where);
        await using (download.ConfigureAwait(false))
        {
            try
            {
                await store.WriteAsync(download, blob.Digest, blob.Size, cancellationToken).ConfigureAwait(false);
            }
            catch (ContentDigestMismatchException e)
            {
                throw new RegistryException(RegistryErrorKind.DigestMismatch, $"{where}: {e.Message}", innerException: e);
            }
        }
    }

    /// <summary>
    /// containerd's resumable fetch: the bytes an earlier, interrupted pull left in the
    /// ingest are hashed again and only the rest is asked for (<c>Range: bytes=N-</c>).
    /// A registry that answers 206 from N is appended to; any other answer starts the
    /// blob over. A resumed blob that does not verify is fetched whole once more.
    /// </summary>
    private async Task DownloadResumableAsync(RegistrySession session, Descriptor blob, ContentIngest ingest, IProgress<PullProgress>? progress, string where, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            long offset = await ingest.ResumeAsync(cancellationToken).ConfigureAwait(false);
            if (offset > 0)
                logger.LogInformation("{What}: resuming after {Bytes} of {Size} bytes", where, offset, blob.Size);
            progress?.Report(new PullProgress(blob.Digest, blob.MediaType, offset, blob.Size, PullPhase.Downloading));
            if (offset < blob.Size)
                await FetchRestAsync(session, blob, ingest, offset, progress, where, cancellationToken).ConfigureAwait(false);
            try
            {
                await ingest.CommitAsync(cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (ContentDigestMismatchException e) when (offset > 0 && attempt == 0)
            {
                // The kept prefix was not the blob's (or the registry's 206 did not fit it): the commit dropped it.
                logger.LogWarning("{What}: the resumed download does not verify ({Error}); fetching it whole", where, e.Message);
            }
            catch (ContentDigestMismatchException e)
            {
                throw new RegistryException(RegistryErrorKind.DigestMismatch, $"{where}: {e.Message}", innerException: e);
            }
        }
    }

    private async Task FetchRestAsync(RegistrySession session, Descriptor blob, ContentIngest ingest, long offset, IProgress<PullProgress>? progress, string where, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await session.OpenBlobAsync(blob.Digest, offset, cancellationToken).ConfigureAwait(false);
        }
        catch (RegistryException e) when (offset > 0 && e.StatusCode == 416)
        {
            // The registry cannot serve from there (the blob is shorter than the kept bytes): start over.
            logger.LogInformation("{What}: the registry refused the range from {Offset} ({Error}); fetching it whole", where, offset, e.Message);
            ingest.Restart();
            offset = 0;
            response = await session.OpenBlobAsync(blob.Digest, 0, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            if (offset > 0 && !(response.StatusCode == HttpStatusCode.PartialContent && response.Content.Headers.ContentRange is { Unit: "bytes", From: { } from } && from == offset))
            {
                // No range support (a whole 200) or another range: the body cannot extend what the ingest holds.
                logger.LogInformation("{What}: the registry answered {Status} to a range from {Offset}; fetching it whole", where, (int)response.StatusCode, offset);
                ingest.Restart();
                offset = 0;
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    response.Dispose();
                    response = await session.OpenBlobAsync(blob.Digest, 0, cancellationToken).ConfigureAwait(false);
                }
            }

            var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            var download = new BlobDownloadStream(body, blob.Digest, blob.MediaType, blob.Size, progress, where, offset);
            await using (download.ConfigureAwait(false))
            {
                try
                {
                    await ingest.AppendAsync(download, cancellationToken).ConfigureAwait(false);
                }
                catch (ContentDigestMismatchException e)
                {
                    throw new RegistryException(RegistryErrorKind.DigestMismatch, $"{where}: {e.Message}", innerException: e);
                }
                catch (RegistryException e) when (e.Kind == RegistryErrorKind.DigestMismatch)
                {
                    // A body longer than the blob: what it sent is not worth resuming.
                    ingest.Discard();
                    throw;
                }
            }
        }
        finally
        {
            response.Dispose();
        }
    }

    private static string Platforms(IReadOnlyList<OciDescriptorJson> entries) =>
        string.Join(", ", entries.Select(e => e.Platform is { } p
            ? $"{p.Os}/{p.Architecture}{(string.IsNullOrEmpty(p.Variant) ? "" : "/" + p.Variant)}"
            : "(no platform)"));
}
