namespace Containerd.Daemon.Content;

/// <summary>The blob is not in the content store (the gRPC service maps it to NotFound).</summary>
public sealed class ContentNotFoundException(string digest)
    : FileNotFoundException($"content {digest}: not found")
{
    public string Digest { get; } = digest;
}
