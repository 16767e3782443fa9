namespace Containerd.Daemon.Images.Distribution;

/// <summary>A verified manifest or index: its media type, digest and bytes.</summary>
public sealed record FetchedManifest(string MediaType, string Digest, byte[] Body)
{
    public Api.Types.ContentDescriptor Descriptor => new() { MediaType = MediaType, Digest = Digest, Size = Body.Length };
}
