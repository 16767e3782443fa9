using System.Text;
using Containerd.Shim.Io;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Containerd.UnitTests.Shim.Io;

public sealed class CriLogWriterTests
{
    private string _dir = "";

    [SetUp]
    public void MakeDirectory() => _dir = Directory.CreateTempSubdirectory("ctd-crilog-writer-").FullName;

    [TearDown]
    public void RemoveDirectory() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void The_file_is_created_0640_and_appended_to()
    {
        var path = Path.Combine(_dir, "0.log");
        File.WriteAllText(path, "earlier\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        using (var writer = CriLogWriter.Open(path, NullLogger.Instance))
            writer.Write("record\n"u8);
        Assert.That(File.ReadAllText(path), Is.EqualTo("earlier\nrecord\n"));

        var fresh = Path.Combine(_dir, "1.log");
        using (var writer = CriLogWriter.Open(fresh, NullLogger.Instance))
            writer.Write("x\n"u8);
        // 0640 less the umask's bits (the shim runs with 022, which leaves 0640 alone).
        Assert.That(File.GetUnixFileMode(fresh) & ~(UnixFileMode.GroupRead | UnixFileMode.UserRead | UnixFileMode.UserWrite), Is.EqualTo(UnixFileMode.None));
        Assert.That(File.GetUnixFileMode(fresh).HasFlag(UnixFileMode.UserWrite));
    }

    [Test]
    public void A_missing_directory_is_an_error_naming_the_path()
    {
        var path = Path.Combine(_dir, "absent", "0.log");
        var error = Assert.Throws<IOException>(() => CriLogWriter.Open(path, NullLogger.Instance));
        Assert.That(error!.Message, Is.EqualTo($"cannot open CRI log {path}: No such file or directory"));
    }

    [Test]
    public void Reopen_sends_later_records_to_a_new_file_at_the_path()
    {
        var path = Path.Combine(_dir, "0.log");
        using var writer = CriLogWriter.Open(path, NullLogger.Instance);
        writer.Write("one\n"u8);
        File.Move(path, path + ".1");
        writer.Write("two\n"u8);
        writer.Reopen();
        writer.Write("three\n"u8);
        Assert.That(File.ReadAllText(path + ".1"), Is.EqualTo("one\ntwo\n"));
        Assert.That(File.ReadAllText(path), Is.EqualTo("three\n"));
    }

    [Test]
    public void A_failed_reopen_keeps_the_old_file()
    {
        var sub = Path.Combine(_dir, "pod");
        Directory.CreateDirectory(sub);
        var path = Path.Combine(sub, "0.log");
        using var writer = CriLogWriter.Open(path, NullLogger.Instance);
        File.Move(path, Path.Combine(_dir, "moved.log"));
        Directory.Delete(sub);
        Assert.That(() => writer.Reopen(), Throws.InstanceOf<IOException>().With.Message.Contains(path));
        writer.Write("still here\n"u8);
        Assert.That(File.ReadAllText(Path.Combine(_dir, "moved.log")), Is.EqualTo("still here\n"));
    }

    [Test]
    public void A_full_disk_is_logged_once_and_never_throws()
    {
        var logger = new CountingLogger();
        using var writer = CriLogWriter.Open("/dev/full", logger);
        for (var i = 0; i < 100; i++)
            writer.Write("lost\n"u8);
        Assert.That(logger.Warnings, Has.Count.EqualTo(1));
        Assert.That(logger.Warnings[0], Does.Contain("/dev/full").And.Contain("No space left on device"));
    }

    [Test]
    public void After_dispose_writes_are_dropped_and_reopen_refused()
    {
        var path = Path.Combine(_dir, "0.log");
        var writer = CriLogWriter.Open(path, NullLogger.Instance);
        writer.Dispose();
        writer.Write("late\n"u8);
        Assert.That(File.ReadAllText(path), Is.Empty);
        Assert.That(() => writer.Reopen(), Throws.InstanceOf<ObjectDisposedException>());
        Assert.That(OpenFdsOf(path), Is.Zero);
    }

    /// <summary>How many of this process's fds refer to <paramref name="path"/>.</summary>
    internal static int OpenFdsOf(string path) =>
        new DirectoryInfo("/proc/self/fd").EnumerateFileSystemInfos()
            .Count(fd => fd.LinkTarget is { } target && (target == path || target == path + " (deleted)"));

    internal sealed class CountingLogger : ILogger
    {
        private readonly List<string> _warnings = [];

        public List<string> Warnings
        {
            get
            {
                lock (_warnings)
                    return [.. _warnings];
            }
        }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel < LogLevel.Warning)
                return;
            lock (_warnings)
                _warnings.Add(formatter(state, exception));
        }
    }
}
