using Containerd.Shared.Images;
using Containerd.Daemon.Filters;
using Containerd.Daemon.Hosting;
using Containerd.Daemon.Metadata;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using ImagesApi = Containerd.Api.Images;

namespace Containerd.Daemon.Images;

/// <summary>
/// containerd.services.images.v1.Images: the per-namespace name → target
/// records. As in containerd it is a metadata service: Create and Update do not
/// check that the target's content exists. Delete collects what the image alone
/// kept alive (content and snapshots) before it answers.
/// </summary>
public sealed class ImagesService(ImageStore store, ImageGc gc, ILogger<ImagesService> logger) : ImagesApi.Images.ImagesBase
{
    private const string LabelPrefix = "labels.";

    public override async Task<ImagesApi.GetImageResponse> Get(ImagesApi.GetImageRequest request, ServerCallContext context)
    {
        var @namespace = RequestNamespace.Of(context);
        var image = await store.GetAsync(@namespace, ValidName(request.Name), context.CancellationToken).ConfigureAwait(false)
            ?? throw NotFound(@namespace, request.Name);
        return new ImagesApi.GetImageResponse { Image = image };
    }

    public override async Task<ImagesApi.ListImagesResponse> List(ImagesApi.ListImagesRequest request, ServerCallContext context)
    {
        var @namespace = RequestNamespace.Of(context);
        Filter filter;
        try
        {
            filter = Filter.Parse(request.Filters).RequireKnownFields(ImageFields.IsKnown, ImageFields.Names);
        }
        catch (FilterSyntaxException e)
        {
            throw RpcErrors.InvalidArgument(e.Message);
        }
        var all = await store.ListAsync(@namespace, context.CancellationToken).ConfigureAwait(false);
        var response = new ImagesApi.ListImagesResponse();
        response.Images.Add(all.Where(i => filter.Matches(ImageFields.Of(i))));
        return response;
    }

    public override async Task<ImagesApi.CreateImageResponse> Create(ImagesApi.CreateImageRequest request, ServerCallContext context)
    {
        var @namespace = RequestNamespace.Of(context);
        var image = request.Image ?? throw RpcErrors.InvalidArgument("image is required");
        ValidName(image.Name);
        ValidTarget(image);
        var record = image.Clone();
        var now = Timestamp.FromDateTime(DateTime.UtcNow);
        record.CreatedAt = now;
        record.UpdatedAt = now;
        if (!await store.TryInsertAsync(@namespace, record, context.CancellationToken).ConfigureAwait(false))
            throw RpcErrors.AlreadyExists($"image \"{image.Name}\" already exists in namespace \"{@namespace}\"");
        logger.LogInformation("image created {Namespace} {Name} {Digest}", @namespace, image.Name, image.Target.Digest);
        return new ImagesApi.CreateImageResponse { Image = record };
    }

    public override async Task<ImagesApi.UpdateImageResponse> Update(ImagesApi.UpdateImageRequest request, ServerCallContext context)
    {
        var @namespace = RequestNamespace.Of(context);
        var incoming = request.Image ?? throw RpcErrors.InvalidArgument("image is required");
        var name = ValidName(incoming.Name);
        var existing = await store.GetAsync(@namespace, name, context.CancellationToken).ConfigureAwait(false)
            ?? throw NotFound(@namespace, name);
        var updated = Apply(existing, incoming, request.UpdateMask);
        ValidTarget(updated);
        updated.UpdatedAt = Timestamp.FromDateTime(DateTime.UtcNow);
        if (!await store.TryReplaceAsync(@namespace, updated, context.CancellationToken).ConfigureAwait(false))
            throw NotFound(@namespace, name);
        if (existing.Target.Digest != updated.Target.Digest)
            await CollectAsync(BlobRef.FromApi(existing.Target), context.CancellationToken).ConfigureAwait(false);
        return new ImagesApi.UpdateImageResponse { Image = updated };
    }

    public override async Task<Empty> Delete(ImagesApi.DeleteImageRequest request, ServerCallContext context)
    {
        var @namespace = RequestNamespace.Of(context);
        var name = ValidName(request.Name);
        var existing = await store.GetAsync(@namespace, name, context.CancellationToken).ConfigureAwait(false)
            ?? throw NotFound(@namespace, name);
        if (!await store.DeleteAsync(@namespace, name, context.CancellationToken).ConfigureAwait(false))
            throw NotFound(@namespace, name);
        logger.LogInformation("image deleted {Namespace} {Name}", @namespace, name);
        // Synchronously whatever `sync` says: a client that removes an image expects its space back.
        await CollectAsync(BlobRef.FromApi(existing.Target), context.CancellationToken).ConfigureAwait(false);
        return new Empty();
    }

    /// <summary>Collects the blobs of a target no record names any more, and unreachable snapshots.</summary>
    private async Task CollectAsync(BlobRef previousTarget, CancellationToken cancellationToken)
    {
        var candidates = await gc.BlobsOfAsync(previousTarget, cancellationToken).ConfigureAwait(false);
        await gc.CollectAsync(candidates, cancellationToken).ConfigureAwait(false);
    }

    private static ImagesApi.Image Apply(ImagesApi.Image existing, ImagesApi.Image incoming, FieldMask? mask)
    {
        var updated = existing.Clone();
        if (mask is null || mask.Paths.Count == 0)
        {
            updated.Labels.Clear();
            updated.Labels.Add(incoming.Labels);
            updated.Target = incoming.Target;
            return updated;
        }
        foreach (var path in mask.Paths)
        {
            switch (path)
            {
                case "labels":
                    updated.Labels.Clear();
                    updated.Labels.Add(incoming.Labels);
                    break;
                case "target":
                    updated.Target = incoming.Target;
                    break;
                default:
                    if (path.StartsWith(LabelPrefix, StringComparison.Ordinal) && path.Length > LabelPrefix.Length)
                    {
                        var key = path[LabelPrefix.Length..];
                        if (incoming.Labels.TryGetValue(key, out var value))
                            updated.Labels[key] = value;
                        else
                            updated.Labels.Remove(key);
                        break;
                    }
                    throw RpcErrors.InvalidArgument($"update_mask: field \"{path}\" cannot be updated (use labels, labels.KEY or target)");
            }
        }
        return updated;
    }

    private static string ValidName(string? name)
    {
        // containerd only requires a name; its characters are the client's business (any reference string).
        if (string.IsNullOrEmpty(name))
            throw RpcErrors.InvalidArgument("image name is required");
        if (name.Length > 4096 || name.Any(char.IsControl))
            throw RpcErrors.InvalidArgument("image name must be at most 4096 characters and contain no control characters");
        return name;
    }

    private static void ValidTarget(ImagesApi.Image image)
    {
        if (image.Target is null || image.Target.Digest.Length == 0)
            throw RpcErrors.InvalidArgument($"image \"{image.Name}\": target is required");
        if (!Content.ContentDigest.IsValid(image.Target.Digest))
            throw RpcErrors.InvalidArgument($"image \"{image.Name}\": target digest \"{image.Target.Digest}\" is not sha256: and 64 lowercase hex digits");
        if (image.Target.MediaType.Length == 0)
            throw RpcErrors.InvalidArgument($"image \"{image.Name}\": target media type is required");
    }

    private static RpcException NotFound(string @namespace, string name) =>
        RpcErrors.NotFound($"image \"{name}\" not found in namespace \"{@namespace}\"");
}
