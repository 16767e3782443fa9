namespace Containerd.Daemon.Content;

/// <summary>
/// Written content is not what the writer expected: its digest or size differ.
/// An <see cref="InvalidDataException"/>, so callers that do not know the
/// content store still treat it as bad data (gRPC: FailedPrecondition, as containerd).
/// </summary>
public sealed class ContentDigestMismatchException(string expected, string actual, long? expectedSize, long actualSize)
    : InvalidDataException(expectedSize is { } size && size != actualSize
        ? $"unexpected commit size {actualSize}, expected {size} (digest {actual}, expected {expected})"
        : $"unexpected commit digest {actual}, expected {expected}")
{
    public string ExpectedDigest { get; } = expected;

    public string ActualDigest { get; } = actual;
}
