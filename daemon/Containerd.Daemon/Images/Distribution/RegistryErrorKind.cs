namespace Containerd.Daemon.Images.Distribution;

public enum RegistryErrorKind
{
    /// <summary>Unknown repository, tag, digest or blob; or no manifest for the platform.</summary>
    NotFound,
    /// <summary>Still 401/403 after authenticating (or no credentials for a Basic challenge).</summary>
    Unauthorized,
    InvalidReference,
    /// <summary>Connection refused, DNS failure, timeout, 5xx.</summary>
    Unavailable,
    /// <summary>A manifest or blob whose bytes do not match their digest or size.</summary>
    DigestMismatch,
    /// <summary>TLS handshake or certificate failure.</summary>
    Tls,
    /// <summary>A manifest, index or config that cannot be parsed, or an unsupported media type.</summary>
    InvalidManifest,
    /// <summary>Any other unexpected answer from the registry.</summary>
    Protocol,
}
