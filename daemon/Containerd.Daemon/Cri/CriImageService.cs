using Containerd.Daemon.Cri.Images;
using Grpc.Core;
using Runtime.V1;

namespace Containerd.Daemon.Cri;

/// <summary>The kubelet's runtime.v1.ImageService on the daemon's socket; the images live in the namespace k8s.io.</summary>
public sealed class CriImageService(CriImages images) : ImageService.ImageServiceBase
{
    public override Task<ListImagesResponse> ListImages(ListImagesRequest request, ServerCallContext context) =>
        images.ListAsync(request.Filter, context.CancellationToken);

    public override async Task StreamImages(StreamImagesRequest request, IServerStreamWriter<StreamImagesResponse> responseStream, ServerCallContext context)
    {
        var list = await images.ListAsync(request.Filter, context.CancellationToken).ConfigureAwait(false);
        await responseStream.WriteAsync(new StreamImagesResponse { Images = { list.Images } }, context.CancellationToken).ConfigureAwait(false);
    }

    public override Task<ImageStatusResponse> ImageStatus(ImageStatusRequest request, ServerCallContext context) =>
        images.StatusAsync(request.Image, request.Verbose, context.CancellationToken);

    public override Task<PullImageResponse> PullImage(PullImageRequest request, ServerCallContext context) =>
        images.PullAsync(request, context.CancellationToken);

    public override Task<RemoveImageResponse> RemoveImage(RemoveImageRequest request, ServerCallContext context) =>
        images.RemoveAsync(request.Image, context.CancellationToken);

    public override Task<ImageFsInfoResponse> ImageFsInfo(ImageFsInfoRequest request, ServerCallContext context) =>
        Task.FromResult(images.FsInfo());
}
