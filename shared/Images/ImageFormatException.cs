namespace Containerd.Shared.Images;

/// <summary>An index, manifest or config in the content store is not what its media type says.</summary>
public sealed class ImageFormatException(string message) : Exception(message);
