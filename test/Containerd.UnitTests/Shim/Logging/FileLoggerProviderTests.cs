using Containerd.Shared.Native;
using Containerd.Shim.Logging;
using Microsoft.Extensions.Logging;

namespace Containerd.UnitTests.Shim.Logging;

public sealed class FileLoggerProviderTests
{
    private string _dir = "";
    private string _log = "";
    private int _fd = -1;

    [SetUp]
    public void SetUp()
    {
        _dir = Directory.CreateTempSubdirectory("shimlogger-").FullName;
        _log = Path.Combine(_dir, "shim.log");
        _fd = LogFile.Open(_log);
    }

    [TearDown]
    public void TearDown()
    {
        Libc.Close(_fd);
        Directory.Delete(_dir, recursive: true);
    }

    [Test]
    public void Past_the_cap_the_log_is_rotated_to_one_older_generation()
    {
        const int cap = 2000;
        using var provider = new FileLoggerProvider(_fd, _log, "web", "ns", 42, maxBytes: cap);
        var logger = provider.CreateLogger("Containerd.Shim.Test");
        for (var i = 0; i < 200; i++)
            logger.LogDebug("line {Number} of some length to fill the file", i);

        var current = File.ReadAllLines(_log);
        var older = File.ReadAllLines(LogFile.RotatedPath(_log));
        Assert.Multiple(() =>
        {
            // Bounded: each generation at most the cap plus the one line that crossed it.
            Assert.That(new FileInfo(_log).Length, Is.LessThanOrEqualTo(cap + 200));
            Assert.That(new FileInfo(LogFile.RotatedPath(_log)).Length, Is.InRange(cap, cap + 200));
            Assert.That(Directory.GetFiles(_dir), Has.Length.EqualTo(2));
            // Nothing lost between the generations, and writing goes on through the same fd into the new file.
            Assert.That(current, Is.Not.Empty);
            Assert.That(current[^1], Does.Contain("Number=199"));
            Assert.That(NumberOf(current[0]), Is.EqualTo(NumberOf(older[^1]) + 1));
            Assert.That(current[0], Does.StartWith("time=").And.Contain(" level=debug ").And.Contain(" id=web namespace=ns pid=42 "));
        });
    }

    private static int NumberOf(string line) =>
        int.Parse(System.Text.RegularExpressions.Regex.Match(line, "Number=(\\d+)$").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);

    [Test]
    public void Below_the_cap_nothing_is_rotated()
    {
        using var provider = new FileLoggerProvider(_fd, _log, "web", "ns", 42);
        provider.CreateLogger("x").LogInformation("created task with init {InitPid}", 7);
        Assert.Multiple(() =>
        {
            Assert.That(File.Exists(LogFile.RotatedPath(_log)), Is.False);
            Assert.That(File.ReadAllText(_log), Does.Contain("msg=\"created task with init 7\""));
        });
    }
}
