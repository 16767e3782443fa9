namespace Containerd.Daemon.Content;

/// <summary>A digest that is not <c>sha256:</c> + 64 lowercase hex (gRPC: InvalidArgument).</summary>
public sealed class InvalidDigestException(string digest)
    : ArgumentException($"invalid digest {digest}: want sha256: and 64 lowercase hex digits")
{
    public string Digest { get; } = digest;
}
