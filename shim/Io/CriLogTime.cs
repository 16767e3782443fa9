using Containerd.Shim.Native;

namespace Containerd.Shim.Io;

/// <summary>
/// A CRI log record's time, formatted as Go's <c>time.RFC3339Nano</c> formats
/// a UTC time (<c>2006-01-02T15:04:05.999999999Z07:00</c>), because the
/// kubelet and every log shipper parse it that way: nanoseconds with the
/// fraction's trailing zeros trimmed, and no decimal point at all when the
/// fraction is zero (<c>2016-10-06T00:17:09.6697942Z</c>,
/// <c>2016-10-06T00:17:09Z</c>). Writes into a caller's buffer: nothing is
/// allocated per record.
/// </summary>
internal static unsafe class CriLogTime
{
    /// <summary>The longest result: <c>2006-01-02T15:04:05.123456789Z</c>.</summary>
    public const int MaxLength = 30;

    private const long NanosecondsPerTick = 100;

    /// <summary>Formats the current UTC time (nanosecond clock); the number of bytes written.</summary>
    public static int FormatNow(Span<byte> destination)
    {
        Posix.TimeSpec now;
        if (Posix.ClockGetTime(Posix.CLOCK_REALTIME, &now) != 0)
        {
            // Cannot fail for CLOCK_REALTIME with a valid pointer; the 100 ns clock would do.
            var ticks = DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks;
            now.Seconds = ticks / TimeSpan.TicksPerSecond;
            now.Nanoseconds = ticks % TimeSpan.TicksPerSecond * NanosecondsPerTick;
        }
        return Format(destination, now.Seconds, (int)now.Nanoseconds);
    }

    /// <summary>
    /// Formats <paramref name="unixSeconds"/> + <paramref name="nanoseconds"/>
    /// (0..999,999,999) since the Unix epoch, UTC; the number of bytes written
    /// (at most <see cref="MaxLength"/>).
    /// </summary>
    public static int Format(Span<byte> destination, long unixSeconds, int nanoseconds)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(nanoseconds);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(nanoseconds, 999_999_999);
        var time = DateTime.UnixEpoch.AddTicks(unixSeconds * TimeSpan.TicksPerSecond);
        var (year, month, day) = time;
        var d = destination;
        Digits(d, 0, year, 4);
        d[4] = (byte)'-';
        Digits(d, 5, month, 2);
        d[7] = (byte)'-';
        Digits(d, 8, day, 2);
        d[10] = (byte)'T';
        Digits(d, 11, time.Hour, 2);
        d[13] = (byte)':';
        Digits(d, 14, time.Minute, 2);
        d[16] = (byte)':';
        Digits(d, 17, time.Second, 2);
        var length = 19;
        if (nanoseconds != 0)
        {
            var digits = 9;
            while (nanoseconds % 10 == 0)
            {
                nanoseconds /= 10;
                digits--;
            }
            d[length++] = (byte)'.';
            Digits(d, length, nanoseconds, digits);
            length += digits;
        }
        d[length++] = (byte)'Z';
        return length;
    }

    private static void Digits(Span<byte> destination, int offset, int value, int count)
    {
        for (var i = offset + count - 1; i >= offset; i--)
        {
            destination[i] = (byte)('0' + value % 10);
            value /= 10;
        }
    }
}
