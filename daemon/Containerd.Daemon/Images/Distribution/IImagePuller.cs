namespace Containerd.Daemon.Images.Distribution;

/// <summary>Pulls an image from its registry into the content store.</summary>
public interface IImagePuller
{
    /// <summary>
    /// Resolves <paramref name="reference"/> (docker-normalised), picks the
    /// platform's manifest, and stores index, manifest, config and layers
    /// (verified). Failures throw <see cref="RegistryException"/>.
    /// </summary>
    Task<PulledImage> PullAsync(string reference, PullOptions options, CancellationToken cancellationToken);
}
