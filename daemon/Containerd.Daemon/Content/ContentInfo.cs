namespace Containerd.Daemon.Content;

/// <summary>A blob in the content store: its digest (<c>sha256:</c> + 64 lowercase hex), size in bytes and when it was committed (UTC).</summary>
public sealed record ContentInfo(string Digest, long Size, DateTime CreatedAt);
