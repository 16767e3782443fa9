using Containerd.Daemon.Hosting;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using ContentApi = Containerd.Api.Content;

namespace Containerd.Daemon.Content;

/// <summary>
/// containerd.services.content.v1.Content, its read side (Info, List, Delete,
/// Read) over the <see cref="IContentStore"/>.
/// </summary>
/// <remarks>
/// Calls require a namespace, as every containerd service does, but there is one
/// store for all namespaces: containerd scopes content to a namespace through
/// its metadata (leases, labels), which this store does not have yet. A digest
/// names the same bytes in every namespace, so sharing them exposes nothing a
/// client does not already know by its digest.
/// </remarks>
public sealed class ContentService(IContentStore store, ILogger<ContentService> logger) : ContentApi.Content.ContentBase
{
    /// <summary>Bytes per Read message: well under the 16 MiB message limit, few messages for a layer.</summary>
    private const int ReadChunkBytes = 1024 * 1024;

    public override Task<ContentApi.InfoResponse> Info(ContentApi.InfoRequest request, ServerCallContext context)
    {
        RequestNamespace.Of(context);
        var info = Guard(() => store.Info(request.Digest)) ?? throw NotFound(request.Digest);
        return Task.FromResult(new ContentApi.InfoResponse { Info = ToApi(info) });
    }

    public override async Task List(ContentApi.ListContentRequest request, IServerStreamWriter<ContentApi.ListContentResponse> responseStream, ServerCallContext context)
    {
        RequestNamespace.Of(context);
        // Batches, as containerd sends them, so a large store never makes one oversized message.
        foreach (var batch in store.List().Chunk(100))
        {
            var response = new ContentApi.ListContentResponse();
            response.Info.Add(batch.Select(ToApi));
            await responseStream.WriteAsync(response, context.CancellationToken).ConfigureAwait(false);
        }
    }

    public override Task<Empty> Delete(ContentApi.DeleteContentRequest request, ServerCallContext context)
    {
        RequestNamespace.Of(context);
        if (!Guard(() => store.Delete(request.Digest)))
            throw NotFound(request.Digest);
        logger.LogInformation("content deleted {Digest}", request.Digest);
        return Task.FromResult(new Empty());
    }

    public override async Task Read(ContentApi.ReadContentRequest request, IServerStreamWriter<ContentApi.ReadContentResponse> responseStream, ServerCallContext context)
    {
        RequestNamespace.Of(context);
        var stream = Guard(() => store.OpenRead(request.Digest));
        await using (stream.ConfigureAwait(false))
        {
            // As containerd: an offset below zero reads from the start; a size of zero
            // (or one past the end) reads to the end; an offset past the end reads nothing.
            var offset = Math.Max(0, request.Offset);
            var remaining = Math.Max(0, stream.Length - offset);
            if (request.Size > 0)
                remaining = Math.Min(remaining, request.Size);
            if (remaining == 0)
                return;
            stream.Seek(offset, SeekOrigin.Begin);
            var buffer = new byte[(int)Math.Min(ReadChunkBytes, remaining)];
            while (remaining > 0)
            {
                var read = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, remaining)), context.CancellationToken)
                    .ConfigureAwait(false);
                if (read == 0)
                    break; // the blob is immutable, so this is only a shorter file than stat said: send what there is
                await responseStream.WriteAsync(
                    new ContentApi.ReadContentResponse { Offset = offset, Data = ByteString.CopyFrom(buffer, 0, read) },
                    context.CancellationToken).ConfigureAwait(false);
                offset += read;
                remaining -= read;
            }
        }
    }

    /// <summary>The store's errors as the API's status codes: a malformed digest is the caller's, a missing blob NotFound.</summary>
    private static T Guard<T>(Func<T> call)
    {
        try
        {
            return call();
        }
        catch (InvalidDigestException e)
        {
            throw RpcErrors.InvalidArgument(e.Message);
        }
        catch (ContentNotFoundException e)
        {
            throw NotFound(e.Digest);
        }
    }

    private static RpcException NotFound(string digest) => RpcErrors.NotFound($"content {digest}: not found");

    private static ContentApi.Info ToApi(ContentInfo info) => new()
    {
        Digest = info.Digest,
        Size = info.Size,
        CreatedAt = Timestamp.FromDateTime(info.CreatedAt),
    };
}
