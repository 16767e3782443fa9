using System.Text;
using Containerd.Shared.Native;
using Containerd.Shared.Tasks;
using Containerd.Shim.Io;
using Stdio = Containerd.Api.Shim.Stdio;

namespace Containerd.UnitTests.Shim.Io;

/// <summary>A process's io with <c>crilog://</c> targets: the test plays the container, writing into the child's pipe ends.</summary>
public sealed class ProcessIoCriLogTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private string _dir = "";
    private readonly CriLogWriterTests.CountingLogger _logger = new();

    [SetUp]
    public void MakeDirectory() => _dir = Directory.CreateTempSubdirectory("ctd-processio-crilog-").FullName;

    [TearDown]
    public void RemoveDirectory() => Directory.Delete(_dir, recursive: true);

    [Test]
    public async Task Stdout_and_stderr_go_to_one_log_and_reopen_moves_later_records_to_a_new_file()
    {
        var path = Path.Combine(_dir, "0.log");
        var target = CriLogTarget.For(path);
        var io = ProcessIo.Open(new Stdio { Stdout = target, Stderr = target }, _logger);
        try
        {
            Assert.That(io.HasCriLog);
            Write(io.ChildStdout, "out 1\n");
            Write(io.ChildStderr, "err 1\n");
            await WaitForLinesAsync(path, 2);
            File.Move(path, path + ".1");
            io.ReopenLog();
            Write(io.ChildStdout, "out 2\npartial");
            Write(io.ChildStderr, "err 2\n");
            io.OnSpawned();
            await io.OutputDone.WaitAsync(Wait);
        }
        finally
        {
            io.Dispose();
        }

        Assert.That(Records(path + ".1"), Is.EquivalentTo(new[] { "stdout F out 1", "stderr F err 1" }));
        Assert.That(Records(path), Is.EquivalentTo(new[] { "stdout F out 2", "stdout P partial", "stderr F err 2" }));
        Assert.That(CriLogWriterTests.OpenFdsOf(path), Is.Zero, "the log is closed with the io");
        Assert.That(_logger.Warnings, Is.Empty);
    }

    [Test]
    public void A_log_in_a_missing_directory_fails_the_open_naming_the_path_and_leaks_nothing()
    {
        var fdsBefore = Directory.GetFiles("/proc/self/fd").Length;
        var path = Path.Combine(_dir, "absent", "0.log");
        var error = Assert.Throws<IOException>(() => ProcessIo.Open(new Stdio { Stdout = CriLogTarget.For(path), Stderr = CriLogTarget.For(path) }, _logger));
        Assert.That(error!.Message, Does.Contain(path));
        Assert.That(Directory.GetFiles("/proc/self/fd"), Has.Length.EqualTo(fdsBefore));
    }

    [Test]
    public void A_malformed_target_fails_the_open_naming_it()
    {
        var error = Assert.Throws<IOException>(() => ProcessIo.Open(new Stdio { Stdout = "crilog://relative/0.log" }, _logger));
        Assert.That(error!.Message, Does.Contain("crilog://relative/0.log"));
    }

    [Test]
    public void A_process_without_a_log_has_nothing_to_reopen()
    {
        using var io = ProcessIo.Open(new Stdio { Stdout = Path.Combine(_dir, "out") }, _logger);
        Assert.That(io.HasCriLog, Is.False);
        io.OnSpawned();
    }

    private static unsafe void Write(int fd, string text)
    {
        var bytes = Encoding.ASCII.GetBytes(text);
        fixed (byte* p = bytes)
            Assert.That(Libc.Write(fd, p, bytes.Length), Is.EqualTo((nint)bytes.Length));
    }

    private static async Task WaitForLinesAsync(string path, int count)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (Records(path).Count < count)
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "records did not arrive");
            await Task.Delay(10);
        }
    }

    /// <summary>The records without their times.</summary>
    private static List<string> Records(string path) =>
        File.Exists(path)
            ? [.. File.ReadAllText(path).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(r => r[(r.IndexOf(' ', StringComparison.Ordinal) + 1)..])]
            : [];
}
