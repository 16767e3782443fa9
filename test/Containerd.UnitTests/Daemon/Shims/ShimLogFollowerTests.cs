using System.Text;
using Containerd.Daemon.Shims;
using Microsoft.Extensions.Logging;

namespace Containerd.UnitTests.Daemon.Shims;

public sealed class ShimLogFollowerTests
{
    private string _dir = "";
    private string _log = "";
    private RecordingLogger _logger = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = Directory.CreateTempSubdirectory("shimlog-").FullName;
        _log = Path.Combine(_dir, "shim.log");
        _logger = new RecordingLogger();
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void Complete_lines_are_forwarded_with_the_task_and_the_shims_level()
    {
        Append(_log, "time=t level=info msg=created id=web namespace=ns\nlevel=debug msg=x\nlevel=error msg=bad\nno level here\n");
        var follower = Follower(fromStart: true);
        follower.Poll();

        Assert.That(_logger.Entries, Is.EqualTo(new[]
        {
            (LogLevel.Information, "shim ns web: time=t level=info msg=created id=web namespace=ns"),
            (LogLevel.Debug, "shim ns web: level=debug msg=x"),
            (LogLevel.Error, "shim ns web: level=error msg=bad"),
            (LogLevel.Warning, "shim ns web: no level here"),
        }));
        Assert.That(_logger.Fields[0]["Namespace"], Is.EqualTo("ns"));
        Assert.That(_logger.Fields[0]["ContainerId"], Is.EqualTo("web"));
    }

    [Test]
    public void A_partial_line_waits_for_its_end()
    {
        var follower = Follower(fromStart: true);
        Append(_log, "level=info msg=one\nlevel=info ms");
        follower.Poll();
        Assert.That(_logger.Lines, Is.EqualTo(new[] { "level=info msg=one" }));

        Append(_log, "g=two\n");
        follower.Poll();
        follower.Poll();
        Assert.That(_logger.Lines, Is.EqualTo(new[] { "level=info msg=one", "level=info msg=two" }));
    }

    [Test]
    public void Without_fromStart_only_lines_written_afterwards_are_forwarded()
    {
        Append(_log, "level=info msg=old\n");
        var follower = Follower(fromStart: false);
        Append(_log, "level=info msg=new\n");
        follower.Poll();
        Assert.That(_logger.Lines, Is.EqualTo(new[] { "level=info msg=new" }));
    }

    [Test]
    public void A_rotation_finishes_the_old_generation_then_reads_the_new_file()
    {
        var follower = Follower(fromStart: true);
        Append(_log, "level=info msg=a\n");
        follower.Poll();
        // The shim writes more, renames the full log and starts a new one, all between two polls.
        Append(_log, "level=info msg=b\nlevel=info msg=c\n");
        File.Move(_log, ShimLogFollower.RotatedPath(_log), overwrite: true);
        Append(_log, "level=info msg=d\n");
        follower.Poll();
        Assert.That(_logger.Lines, Is.EqualTo(new[] { "level=info msg=a", "level=info msg=b", "level=info msg=c", "level=info msg=d" }));
    }

    [Test]
    public void A_file_truncated_in_place_is_read_again_from_its_start()
    {
        var follower = Follower(fromStart: true);
        Append(_log, "level=info msg=long-first-line\n");
        follower.Poll();
        using (var stream = new FileStream(_log, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
            stream.SetLength(0);
        Append(_log, "level=info msg=b\n");
        follower.Poll();
        Assert.That(_logger.Lines, Is.EqualTo(new[] { "level=info msg=long-first-line", "level=info msg=b" }));
    }

    [Test]
    public async Task Stop_drains_what_is_left_including_an_unfinished_line()
    {
        var follower = Follower(fromStart: true);
        follower.Start();
        Append(_log, "level=info msg=deleted\nlevel=info msg=unfinished");
        await follower.StopAsync();
        Assert.That(_logger.Lines, Is.EqualTo(new[] { "level=info msg=deleted", "level=info msg=unfinished" }));
    }

    [Test]
    public async Task A_missing_file_or_bundle_is_no_error()
    {
        var follower = new ShimLogFollower(Path.Combine(_dir, "gone", "shim.log"), "ns", "web", _logger, fromStart: false);
        follower.Start();
        follower.Poll();
        await follower.StopAsync();
        Assert.That(_logger.Lines, Is.Empty);
    }

    [Test]
    public async Task With_the_inotify_watch_lines_arrive_as_they_are_written_and_across_a_rotation()
    {
        using var watch = new ShimLogWatch(Microsoft.Extensions.Logging.Abstractions.NullLogger<ShimLogWatch>.Instance);
        Append(_log, "level=info msg=before\n");
        // An hour between polls: only the watch can deliver these lines in time.
        var follower = new ShimLogFollower(_log, "ns", "web", _logger, fromStart: true, TimeSpan.FromHours(1), watch);
        follower.Start();
        await WaitForLinesAsync(1);
        Append(_log, "level=info msg=one\n");
        await WaitForLinesAsync(2);
        Append(_log, "level=info msg=two\n");
        File.Move(_log, ShimLogFollower.RotatedPath(_log));
        Append(_log, "level=info msg=three\n");
        await WaitForLinesAsync(4);
        await follower.StopAsync();
        Append(_log, "level=info msg=after-stop\n");
        await Task.Delay(50);
        Assert.That(_logger.Lines, Is.EqualTo(new[] { "level=info msg=before", "level=info msg=one", "level=info msg=two", "level=info msg=three" }));
    }

    [Test]
    public async Task The_watch_tells_each_follower_about_its_own_file_only()
    {
        using var watch = new ShimLogWatch(Microsoft.Extensions.Logging.Abstractions.NullLogger<ShimLogWatch>.Instance);
        var otherDir = Directory.CreateDirectory(Path.Combine(_dir, "other")).FullName;
        var otherLogger = new RecordingLogger();
        var mine = new ShimLogFollower(_log, "ns", "web", _logger, fromStart: true, TimeSpan.FromHours(1), watch);
        var other = new ShimLogFollower(Path.Combine(otherDir, "shim.log"), "ns", "db", otherLogger, fromStart: true, TimeSpan.FromHours(1), watch);
        mine.Start();
        other.Start();
        Append(Path.Combine(otherDir, "shim.log"), "level=info msg=theirs\n");
        Append(Path.Combine(_dir, "events.seq"), "1");
        Append(_log, "level=info msg=mine\n");
        await WaitForLinesAsync(1);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!otherLogger.Lines.Any() && DateTime.UtcNow < deadline)
            await Task.Delay(5);
        Assert.That(_logger.Lines, Is.EqualTo(new[] { "level=info msg=mine" }));
        Assert.That(otherLogger.Lines, Is.EqualTo(new[] { "level=info msg=theirs" }));
        await mine.StopAsync();
        await other.StopAsync();
    }

    private async Task WaitForLinesAsync(int count)
    {
        // The follower's reads happen on the watch thread; the logger is the only thing to look at.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (_logger.Lines.Count() < count)
        {
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"expected {count} lines, have: {string.Join(" | ", _logger.Lines)}");
            await Task.Delay(5);
        }
    }

    private ShimLogFollower Follower(bool fromStart) =>
        new(_log, "ns", "web", _logger, fromStart, TimeSpan.FromMilliseconds(10));

    private static void Append(string path, string text) => File.AppendAllText(path, text, new UTF8Encoding(false));

    private sealed class RecordingLogger : ILogger
    {
        private readonly Lock _gate = new();

        public List<(LogLevel Level, string Message)> Entries { get; } = [];

        public List<Dictionary<string, object?>> Fields { get; } = [];

        public IEnumerable<string> Lines
        {
            get
            {
                lock (_gate)
                    return Fields.Select(f => (string)f["ShimLine"]!).ToList();
            }
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (_gate)
            {
                Entries.Add((logLevel, formatter(state, exception)));
                Fields.Add((state as IEnumerable<KeyValuePair<string, object?>> ?? []).ToDictionary(kv => kv.Key, kv => kv.Value));
            }
        }
    }
}
