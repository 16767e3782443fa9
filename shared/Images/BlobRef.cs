namespace Containerd.Shared.Images;

/// <summary>A descriptor as the image walk needs it: what the blob is, its digest and size.</summary>
public sealed record BlobRef(string MediaType, string Digest, long Size)
{
    public Api.Types.ContentDescriptor ToApi() => new() { MediaType = MediaType, Digest = Digest, Size = Size };

    public static BlobRef FromApi(Api.Types.ContentDescriptor descriptor) => new(descriptor.MediaType, descriptor.Digest, descriptor.Size);
}
