using Containerd.Shared.Native;
using Containerd.Shared.Tasks;
using Containerd.Shim.Native;
using Microsoft.Extensions.Logging;
using Stdio = Containerd.Api.Shim.Stdio;

namespace Containerd.Shim.Io;

/// <summary>
/// The io of a terminal process: runc makes the pty and sends its master over
/// a <see cref="ConsoleSocket"/>; the shim copies the master to the client's
/// stdout and the client's stdin to the master, each copier on its own dup
/// of the master, and keeps one more fd of it for resizing.
/// <para>
/// stderr: the process's stderr is the terminal too, so everything arrives
/// merged on stdout; a stderr path given with a terminal is ignored (never
/// opened), as containerd does. A <c>crilog://</c> stdout gets the terminal's
/// output framed into CRI log records of stream <c>stdout</c>, as containerd
/// logs a tty container.
/// </para>
/// <para>
/// stdin: the client's FIFO is opened O_RDWR, so the shim holds a writer of
/// its own and a client that comes and goes (an attach that detaches, a
/// <c>ctr run -d -t</c> that exits) never ends the input. Only CloseStdin does:
/// after what was already written is forwarded, the terminal's VEOF goes in
/// (see <see cref="TerminalEof"/>).
/// </para>
/// </summary>
internal sealed class PtyIo : IDisposable
{
    private static readonly TimeSpan JoinTimeout = TimeSpan.FromSeconds(2);

    private readonly CancelSignal _shutdown;
    private readonly CancelSignal _closeStdin;
    private readonly ILogger _logger;
    private readonly TaskCompletionSource _outputDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    // Guards the master fd against a resize racing Dispose.
    private readonly Lock _gate = new();
    private readonly CriLogStream? _stdoutLog;
    private ConsoleSocket? _console;
    private int _stdinClient;
    private int _stdoutClient;
    private int _master = -1;
    private InputCopier? _stdinCopier;
    private OutputCopier? _stdoutCopier;
    private bool _disposed;

    private PtyIo(
        int stdinClient, int stdoutClient, CriLogFiles logs, CriLogStream? stdoutLog, ConsoleSocket console, CancelSignal shutdown,
        CancelSignal closeStdin, ILogger logger)
    {
        _stdinClient = stdinClient;
        _stdoutClient = stdoutClient;
        Logs = logs;
        _stdoutLog = stdoutLog;
        _console = console;
        _shutdown = shutdown;
        _closeStdin = closeStdin;
        _logger = logger;
        ConsoleSocketPath = console.Path;
    }

    /// <summary>The --console-socket runc is given.</summary>
    public string ConsoleSocketPath { get; }

    /// <summary>The CRI log the output goes to, if any; closed by <see cref="Dispose"/>.</summary>
    public CriLogFiles Logs { get; }

    /// <summary>Completes when the master reached EOF (every slave fd closed), or was never received.</summary>
    public Task OutputDone => _outputDone.Task;

    /// <summary>Opens the client's paths and listens on <paramref name="consoleSocket"/>.</summary>
    /// <exception cref="IOException">A client path or the socket cannot be opened; the message names it.</exception>
    public static PtyIo Open(Stdio stdio, string consoleSocket, ILogger logger)
    {
        var stdin = -1;
        var stdout = -1;
        CancelSignal? shutdown = null;
        CancelSignal? closeStdin = null;
        var logs = new CriLogFiles(logger);
        try
        {
            if (stdio.Stdin.Length > 0)
                stdin = OpenClient(stdio.Stdin, Libc.O_RDWR | Libc.O_NONBLOCK, "stdin");
            var stdoutLog = logs.TryStream("stdout", stdio.Stdout);
            // As for a pipe's output (ProcessIo): O_RDWR never blocks on a FIFO; a regular file is appended to.
            if (stdio.Stdout.Length > 0 && stdoutLog is null)
                stdout = OpenClient(stdio.Stdout, Libc.O_RDWR | Libc.O_NONBLOCK | Libc.O_APPEND | Libc.O_CREAT, "stdout");
            shutdown = new CancelSignal();
            closeStdin = new CancelSignal();
            var console = ConsoleSocket.Listen(consoleSocket);
            return new PtyIo(stdin, stdout, logs, stdoutLog, console, shutdown, closeStdin, logger);
        }
        catch
        {
            Posix.CloseQuietly(ref stdin);
            Posix.CloseQuietly(ref stdout);
            logs.Dispose();
            shutdown?.Dispose();
            closeStdin?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// After runc returned successfully: takes the master from the console
    /// socket (whose file goes now) and starts copying.
    /// </summary>
    /// <exception cref="IOException">No master came; the message says why.</exception>
    public void Attach()
    {
        int master;
        try
        {
            master = _console!.ReceiveMaster();
        }
        finally
        {
            _console?.Dispose();
            _console = null;
        }

        var outputFd = -1;
        var inputFd = -1;
        lock (_gate)
        {
            _master = master;
            try
            {
                // The master is always read, even with no stdout path: a full pty would block the process.
                outputFd = Dup(master, "stdout");
                if (_stdinClient >= 0)
                    inputFd = Dup(master, "stdin");
            }
            catch
            {
                Posix.CloseQuietly(ref outputFd);
                throw;
            }
            // The copiers own these fds from here on.
            _stdoutCopier = _stdoutLog is not null
                ? new OutputCopier("stdout", outputFd, _stdoutLog, _shutdown, _logger)
                : new OutputCopier("stdout", outputFd, _stdoutClient, _shutdown, _logger);
            _stdoutClient = -1;
            if (inputFd >= 0)
            {
                _stdinCopier = new InputCopier(_stdinClient, inputFd, _shutdown, _closeStdin, _logger, TerminalEof.For);
                _stdinClient = -1;
            }
        }
        _stdoutCopier.Done.ContinueWith(_ => _outputDone.TrySetResult(), TaskScheduler.Default);
        _stdinCopier?.Start();
        _stdoutCopier.Start();
    }

    /// <summary>
    /// Ends the terminal's input: the stdin copier forwards what the client
    /// wrote, then the VEOF. Without a stdin path the VEOF goes in at once.
    /// </summary>
    public void CloseStdin()
    {
        if (_stdinCopier is not null)
        {
            _closeStdin.Signal();
            return;
        }
        lock (_gate)
        {
            if (_master < 0 || _closeStdin.IsSignalled)
                return;
            _closeStdin.Signal();
            WriteQuietly(_master, TerminalEof.For(_master, -1));
        }
    }

    /// <summary>
    /// TIOCSWINSZ on the master (the kernel signals SIGWINCH to the
    /// terminal's foreground process group). Once the process exited the
    /// terminal may be gone: resizing it is then harmless and ignored.
    /// </summary>
    /// <exception cref="IOException">The ioctl failed for another reason.</exception>
    public unsafe void Resize(WindowSize size)
    {
        lock (_gate)
        {
            if (_master < 0)
                return; // not received yet, or released: nothing to resize
            var winsize = new Posix.WinSize { Rows = size.Rows, Columns = size.Columns };
            if (Posix.Ioctl(_master, Posix.TIOCSWINSZ, &winsize) == 0)
                return;
            var errno = Libc.LastError;
            if (errno is Posix.EIO or Posix.ENOTTY or Posix.EBADF)
            {
                _logger.LogDebug("resize of a closed terminal ignored: {Error}", Libc.ErrorText(errno));
                return;
            }
            throw new IOException($"TIOCSWINSZ: {Libc.ErrorText(errno)}");
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
                return;
            _disposed = true;
            Posix.CloseQuietly(ref _master);
        }
        _console?.Dispose();
        _console = null;
        _shutdown.Signal();
        var joined = (_stdinCopier?.Join(JoinTimeout) ?? true) & (_stdoutCopier?.Join(JoinTimeout) ?? true);
        // Copiers own the client fds they were given; these are the ones never handed over.
        Posix.CloseQuietly(ref _stdinClient);
        Posix.CloseQuietly(ref _stdoutClient);
        _outputDone.TrySetResult();
        if (joined)
        {
            // Only now is no thread polling the eventfds or writing the log.
            _shutdown.Dispose();
            _closeStdin.Dispose();
            Logs.Dispose();
        }
        else
        {
            _logger.LogWarning("a terminal io thread did not stop; leaving its cancel fd and log open");
        }
    }

    private static int OpenClient(string path, int flags, string what)
    {
        var fd = Libc.Open(path, flags | Libc.O_CLOEXEC, 0x180);
        if (fd < 0)
            throw new IOException($"cannot open {what} {path}: {Libc.ErrorText(Libc.LastError)}");
        return fd;
    }

    private static int Dup(int fd, string what)
    {
        var copy = Posix.DupCloexec(fd);
        if (copy < 0)
            throw new IOException($"pty master for {what}: dup: {Libc.ErrorText(Libc.LastError)}");
        return copy;
    }

    private static unsafe void WriteQuietly(int fd, byte[] bytes)
    {
        fixed (byte* p = bytes)
            Libc.Write(fd, p, bytes.Length);
    }
}
