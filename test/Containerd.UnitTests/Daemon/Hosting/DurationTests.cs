using Containerd.Daemon.Config;

namespace Containerd.UnitTests.Daemon.Hosting;

public sealed class DurationTests
{
    [TestCase(100, "100ms")]
    [TestCase(1500, "1500ms")]
    [TestCase(10_000, "10s")]
    [TestCase(120_000, "2m")]
    [TestCase(90_000, "90s")]
    [TestCase(3_600_000, "1h")]
    public void Formats_the_shortest_exact_form_and_parses_it_back(int milliseconds, string text)
    {
        var value = TimeSpan.FromMilliseconds(milliseconds);
        Assert.That(Duration.Format(value), Is.EqualTo(text));
        Assert.That(Duration.TryParse(text), Is.EqualTo(value));
    }

    [TestCase("")]
    [TestCase("10")]
    [TestCase("s")]
    [TestCase("10 s")]
    [TestCase("10S")]
    [TestCase("1d")]
    [TestCase("-1s")]
    [TestCase("1.2.3s")]
    public void Rejects_what_is_not_a_duration(string text) => Assert.That(Duration.TryParse(text), Is.Null);
}
