using Containerd.Daemon.Images.Distribution;
using ImagesApi = Containerd.Api.Images;

namespace Containerd.Daemon.Images;

/// <summary>A finished pull: the image record as stored, what was fetched, and the unpacked top snapshot ("" when not unpacked).</summary>
public sealed record ImagePullResult(ImagesApi.Image Record, PulledImage Pulled, string ChainId)
{
    public Api.Types.ContentDescriptor Manifest => Pulled.Manifest;
}
