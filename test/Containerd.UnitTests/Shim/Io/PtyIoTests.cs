using System.Text;
using Containerd.Shared.Native;
using Containerd.Shared.Tasks;
using Containerd.Shim.Io;
using Containerd.Shim.Native;
using Microsoft.Extensions.Logging;
using Stdio = Containerd.Api.Shim.Stdio;

namespace Containerd.UnitTests.Shim.Io;

/// <summary>
/// A terminal's io against a real pty made here (the test plays runc: it
/// sends the master over the console socket and holds the slave, as the
/// container process would).
/// </summary>
public sealed class PtyIoTests
{
    private const int O_NOCTTY = 0x100;
    private const nuint TIOCSPTLCK = 0x40045431;
    private const nuint TIOCGPTN = 0x80045430;
    private const nuint TIOCGWINSZ = 0x5413;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private string _dir = "";
    private readonly WarningLogger _logger = new();

    [SetUp]
    public void MakeDirectory() => _dir = Directory.CreateTempSubdirectory("ctd-ptyio-test-").FullName;

    [TearDown]
    public void RemoveDirectory() => Directory.Delete(_dir, recursive: true);

    [Test]
    public async Task Input_output_resize_and_end_of_input_go_through_the_pty()
    {
        var stdin = Path.Combine(_dir, "stdin");
        var stdout = Path.Combine(_dir, "stdout");
        Assert.That(Libc.MkFifo(stdin, Convert.ToInt32("600", 8)), Is.Zero);
        var socket = Path.Combine(_dir, "console.1.sock");
        var (master, slave) = OpenPty();
        using var io = PtyIo.Open(new Stdio { Stdin = stdin, Stdout = stdout, Stderr = Path.Combine(_dir, "ignored"), Terminal = true }, socket, _logger);
        try
        {
            FdSender.Send(io.ConsoleSocketPath, master, "/dev/pts/x");
            Libc.Close(master);
            io.Attach();
            Assert.That(File.Exists(socket), Is.False, "the console socket goes once the master is taken");

            // A client writes a partial line and leaves: the input does not end (the shim holds a writer).
            WriteAndClose(stdin, "abc");
            io.Resize(new WindowSize(Columns: 100, Rows: 40));
            Assert.That(SizeOf(slave), Is.EqualTo(((ushort)40, (ushort)100)));

            // CloseStdin: the first VEOF hands over the partial line, the second is the end of input.
            io.CloseStdin();
            Assert.That(ReadSlave(slave), Is.EqualTo("abc"));
            Assert.That(ReadSlave(slave), Is.EqualTo(""), "end of input");

            WriteSlave(slave, "out\n");
            Assert.That(io.OutputDone.IsCompleted, Is.False, "the slave is still open");
            Libc.Close(slave);
            slave = -1;
            // The master reads EIO once the last slave fd closed: that is EOF, and no warning.
            await io.OutputDone.WaitAsync(Wait);
        }
        finally
        {
            if (slave >= 0)
                Libc.Close(slave);
        }
        io.Dispose();
        // Echo is on: the input shows in the output before the process's own line (\n → \r\n).
        Assert.That(await File.ReadAllTextAsync(stdout), Does.StartWith("abc").And.EndWith("out\r\n"));
        Assert.That(File.Exists(Path.Combine(_dir, "ignored")), Is.False, "stderr is ignored with a terminal");
        Assert.That(_logger.Warnings, Is.Empty);
        // Released: a resize is harmless.
        io.Resize(new WindowSize(80, 24));
    }

    [Test]
    public void Without_a_stdin_path_CloseStdin_still_ends_the_input()
    {
        var (master, slave) = OpenPty();
        using var io = PtyIo.Open(new Stdio { Terminal = true }, Path.Combine(_dir, "console.2.sock"), _logger);
        try
        {
            FdSender.Send(io.ConsoleSocketPath, master, "/dev/pts/x");
            Libc.Close(master);
            io.Attach();
            io.CloseStdin();
            Assert.That(ReadSlave(slave), Is.EqualTo(""), "end of input");
        }
        finally
        {
            Libc.Close(slave);
        }
    }

    [Test]
    public async Task A_CRI_log_gets_the_terminal_output_as_stdout_records_without_carriage_returns()
    {
        var log = Path.Combine(_dir, "0.log");
        var target = CriLogTarget.For(log);
        var (master, slave) = OpenPty();
        var io = PtyIo.Open(new Stdio { Stdout = target, Stderr = target, Terminal = true }, Path.Combine(_dir, "console.4.sock"), _logger);
        try
        {
            FdSender.Send(io.ConsoleSocketPath, master, "/dev/pts/x");
            Libc.Close(master);
            io.Attach();
            // The pty turns \n into \r\n (ONLCR); containerd's logger takes "\r\n" as the newline.
            WriteSlave(slave, "one\ntwo\nlast");
            Libc.Close(slave);
            slave = -1;
            await io.OutputDone.WaitAsync(Wait);
        }
        finally
        {
            if (slave >= 0)
                Libc.Close(slave);
            io.Dispose();
        }
        var records = File.ReadAllText(log).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(r => r[(r.IndexOf(' ') + 1)..]);
        Assert.That(records, Is.EqualTo(new[] { "stdout F one", "stdout F two", "stdout P last" }));
        Assert.That(_logger.Warnings, Is.Empty);
    }

    [Test]
    public void Disposed_before_runc_sent_anything_it_leaves_no_socket_and_its_output_is_done()
    {
        var socket = Path.Combine(_dir, "console.3.sock");
        var io = PtyIo.Open(new Stdio { Terminal = true }, socket, _logger);
        Assert.That(File.Exists(socket), Is.True);
        io.Dispose();
        Assert.Multiple(() =>
        {
            Assert.That(File.Exists(socket), Is.False);
            Assert.That(io.OutputDone.IsCompleted, Is.True);
        });
    }

    private static unsafe (ushort Rows, ushort Columns) SizeOf(int slave)
    {
        var size = new Posix.WinSize();
        Assert.That(Posix.Ioctl(slave, TIOCGWINSZ, &size), Is.Zero);
        return (size.Rows, size.Columns);
    }

    private static unsafe (int Master, int Slave) OpenPty()
    {
        var master = Libc.Open("/dev/ptmx", Libc.O_RDWR | O_NOCTTY | Libc.O_CLOEXEC, 0);
        Assert.That(master, Is.GreaterThanOrEqualTo(0), Libc.ErrorText(Libc.LastError));
        var unlock = 0;
        Assert.That(Posix.Ioctl(master, TIOCSPTLCK, &unlock), Is.Zero);
        int number;
        Assert.That(Posix.Ioctl(master, TIOCGPTN, &number), Is.Zero);
        var slave = Libc.Open($"/dev/pts/{number}", Libc.O_RDWR | O_NOCTTY | Libc.O_CLOEXEC, 0);
        Assert.That(slave, Is.GreaterThanOrEqualTo(0), Libc.ErrorText(Libc.LastError));
        return (master, slave);
    }

    private static unsafe void WriteAndClose(string fifo, string text)
    {
        var fd = Libc.Open(fifo, Libc.O_WRONLY | Libc.O_NONBLOCK | Libc.O_CLOEXEC, 0);
        Assert.That(fd, Is.GreaterThanOrEqualTo(0), Libc.ErrorText(Libc.LastError));
        var bytes = Encoding.UTF8.GetBytes(text);
        fixed (byte* p = bytes)
            Assert.That(Libc.Write(fd, p, bytes.Length), Is.EqualTo((nint)bytes.Length));
        Libc.Close(fd);
    }

    private static unsafe void WriteSlave(int slave, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        fixed (byte* p = bytes)
            Assert.That(Libc.Write(slave, p, bytes.Length), Is.EqualTo((nint)bytes.Length));
    }

    /// <summary>One canonical-mode read, as the container process would do it (bounded, so a bug fails rather than hangs).</summary>
    private static unsafe string ReadSlave(int slave)
    {
        var poll = new Libc.PollFd { Fd = slave, Events = Libc.POLLIN };
        Assert.That(Libc.Poll(&poll, 1, (int)Wait.TotalMilliseconds), Is.EqualTo(1), "the slave has input");
        var buffer = stackalloc byte[256];
        var n = Libc.Read(slave, buffer, 256);
        Assert.That(n, Is.GreaterThanOrEqualTo((nint)0), Libc.ErrorText(Libc.LastError));
        return Encoding.UTF8.GetString(buffer, (int)n);
    }

    private sealed class WarningLogger : ILogger
    {
        private readonly List<string> _warnings = [];

        public IReadOnlyList<string> Warnings
        {
            get
            {
                lock (_warnings)
                    return _warnings.ToList();
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
