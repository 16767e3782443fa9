namespace Containerd.Daemon.Content;

/// <summary>
/// Written content is not what the writer expected: its digest or size differ.
/// Nothing was committed (gRPC: FailedPrecondition, as containerd). An
/// <see cref="IOException"/> because <see cref="InvalidDataException"/> is sealed.
/// </summary>
public sealed class ContentDigestMismatchException(string expected, string actual, long? expectedSize, long actualSize)
    : IOException(expectedSize is { } size && size != actualSize
        ? $"unexpected commit size {actualSize}, expected {size} (digest {actual}, expected {expected})"
        : $"unexpected commit digest {actual}, expected {expected}")
{
    public string ExpectedDigest { get; } = expected;

    public string ActualDigest { get; } = actual;
}
