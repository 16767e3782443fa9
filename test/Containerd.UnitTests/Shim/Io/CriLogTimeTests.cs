using System.Text;
using System.Text.RegularExpressions;
using Containerd.Shim.Io;

namespace Containerd.UnitTests.Shim.Io;

/// <summary>The record time against what Go's time.RFC3339Nano prints (the expected strings are Go 1.19's output).</summary>
public sealed partial class CriLogTimeTests
{
    [TestCase(1475713029L, 669794202, "2016-10-06T00:17:09.669794202Z")]
    [TestCase(1475713029L, 669794200, "2016-10-06T00:17:09.6697942Z", TestName = "Trailing zeros of the fraction are trimmed")]
    [TestCase(1475713029L, 0, "2016-10-06T00:17:09Z", TestName = "A zero fraction has no decimal point")]
    [TestCase(1475713029L, 100000000, "2016-10-06T00:17:09.1Z")]
    [TestCase(1475713029L, 1, "2016-10-06T00:17:09.000000001Z", TestName = "Leading zeros of the fraction are kept")]
    [TestCase(0L, 0, "1970-01-01T00:00:00Z")]
    [TestCase(253402300799L, 999999999, "9999-12-31T23:59:59.999999999Z")]
    [TestCase(951782400L, 10, "2000-02-29T00:00:00.00000001Z")]
    [TestCase(-1L, 500000000, "1969-12-31T23:59:59.5Z")]
    public void Formats_as_Go_RFC3339Nano_in_UTC(long seconds, int nanoseconds, string expected)
    {
        Span<byte> buffer = stackalloc byte[CriLogTime.MaxLength];
        var length = CriLogTime.Format(buffer, seconds, nanoseconds);
        Assert.That(Encoding.ASCII.GetString(buffer[..length]), Is.EqualTo(expected));
    }

    [Test]
    public void Now_is_the_current_UTC_time_in_that_format()
    {
        Span<byte> buffer = stackalloc byte[CriLogTime.MaxLength];
        var before = DateTime.UtcNow;
        var text = Encoding.ASCII.GetString(buffer[..CriLogTime.FormatNow(buffer)]);
        var after = DateTime.UtcNow;
        Assert.That(text, Does.Match(GoRfc3339Nano()));
        var parsed = DateTime.Parse(text, null, System.Globalization.DateTimeStyles.AdjustToUniversal | System.Globalization.DateTimeStyles.AssumeUniversal);
        Assert.That(parsed, Is.InRange(before.AddMilliseconds(-1), after.AddMilliseconds(1)));
    }

    [GeneratedRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,8}[1-9])?Z$")]
    internal static partial Regex GoRfc3339Nano();
}
