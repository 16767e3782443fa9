namespace Containerd.Daemon.Images.Distribution;

/// <summary>
/// A pull failure. The message names the registry, repository, reference and
/// HTTP status when there was one, so a user can tell which hop failed.
/// </summary>
public sealed class RegistryException : Exception
{
    public RegistryException(RegistryErrorKind kind, string message, int? statusCode = null, Exception? innerException = null)
        : base(message, innerException)
    {
        Kind = kind;
        StatusCode = statusCode;
    }

    public RegistryErrorKind Kind { get; }

    /// <summary>The HTTP status that caused it, when there was one.</summary>
    public int? StatusCode { get; }
}
