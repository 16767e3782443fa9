using Google.Protobuf.WellKnownTypes;

namespace Containerd.Daemon.Metadata;

/// <summary>Timestamps are stored as nanoseconds since the Unix epoch: exact, and sortable in SQL.</summary>
internal static class UnixNanos
{
    private const long NanosPerSecond = 1_000_000_000;

    public static long From(Timestamp? timestamp) =>
        timestamp is null ? 0 : timestamp.Seconds * NanosPerSecond + timestamp.Nanos;

    public static Timestamp ToTimestamp(long nanos) => new()
    {
        Seconds = Math.DivRem(nanos, NanosPerSecond, out var remainder),
        Nanos = (int)remainder,
    };
}
