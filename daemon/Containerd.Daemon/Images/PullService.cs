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
public sealed class PullService(ImagePulls pulls) : ImagesApi.Pull.PullBase
{
    /// <summary>Progress of one blob goes out at most this often (the last state of each blob always does).</summary>
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(100);

    public override async Task Pull(ImagesApi.PullRequest request, IServerStreamWriter<ImagesApi.PullProgress> responseStream, ServerCallContext context)
    {
        var @namespace = RequestNamespace.Of(context);
        var cancellationToken = context.CancellationToken;
        var progress = Channel.CreateUnbounded<PullProgress>(new UnboundedChannelOptions { SingleReader = true });
        var sender = SendProgressAsync(progress.Reader, responseStream, cancellationToken);
        var options = new PullOptions(
            PlainHttp: request.PlainHttp,
            Credentials: request.Username.Length > 0 || request.Password.Length > 0 ? new RegistryCredentials(request.Username, request.Password) : null,
            Progress: new Progress(progress.Writer),
            Platform: request.Platform.Length > 0 ? request.Platform : null);

        async Task FetchedAsync()
        {
            // Every report is out before the next message (or the error) is.
            progress.Writer.TryComplete();
            await sender.ConfigureAwait(false);
        }

        ImagePullResult result;
        try
        {
            result = await pulls.PullAsync(@namespace, request.Reference, options, unpack: request.Unpack is not false, async () =>
            {
                await FetchedAsync().ConfigureAwait(false);
                await responseStream.WriteAsync(new ImagesApi.PullProgress { Status = "unpacking" }, cancellationToken).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await FetchedAsync().ConfigureAwait(false);
        }

        await responseStream.WriteAsync(new ImagesApi.PullProgress
        {
            Image = new ImagesApi.PulledImage
            {
                Image = result.Record, Manifest = result.Pulled.Manifest, Config = result.Pulled.Config, ChainId = result.ChainId,
            },
        }, cancellationToken).ConfigureAwait(false);
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
