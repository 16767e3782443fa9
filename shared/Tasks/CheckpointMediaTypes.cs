namespace Containerd.Shared.Tasks;

/// <summary>The media types of a checkpoint's blobs in the content store, as containerd names them (the daemon writes them, ctr sends the first).</summary>
public static class CheckpointMediaTypes
{
    /// <summary>CRIU's image directory as a tar: what Create with a checkpoint restores from.</summary>
    public const string CriuTar = "application/vnd.containerd.container.criu.checkpoint.criu.tar";

    /// <summary>The container's OCI spec (the bundle's config.json) at the time of the checkpoint.</summary>
    public const string Config = "application/vnd.containerd.container.checkpoint.config.v1+json";
}
