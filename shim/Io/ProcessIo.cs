using Containerd.Shared.Native;
using Containerd.Shared.Tasks;
using Containerd.Shim.Native;
using Containerd.Shim.Runc;
using Microsoft.Extensions.Logging;
using Stdio = Containerd.Api.Shim.Stdio;

namespace Containerd.Shim.Io;

/// <summary>
/// The stdio of one container process. For every stream the client named the
/// shim makes a pipe: the child (runc, and through it the container process)
/// gets one end, the shim copies between the other end and the client's path.
/// An empty path means /dev/null. Everything the shim opens is O_CLOEXEC.
/// A <c>crilog://</c> stdout/stderr (<see cref="CriLogTarget"/>) also gets a
/// pipe, but its copier frames the bytes into CRI log records in that file
/// (<see cref="CriLogFiles"/>), which <see cref="ReopenLog"/> reopens.
/// A terminal process has no pipes: its io is a <see cref="PtyIo"/> (the
/// pty runc makes), which this type fronts so a process owns one kind of io.
/// </summary>
internal sealed class ProcessIo : IRuncStdio, IDisposable
{
    // Streams whose reader died with a grandchild still holding the pipe are
    // cut off at Dispose; joining longer than this would only stall a delete.
    private static readonly TimeSpan JoinTimeout = TimeSpan.FromSeconds(2);

    private readonly CancelSignal? _shutdown;
    private readonly CancelSignal? _closeStdin;
    private readonly PtyIo? _pty;
    private readonly InputCopier? _stdinCopier;
    private readonly OutputCopier? _stdoutCopier;
    private readonly OutputCopier? _stderrCopier;
    private readonly CriLogFiles? _logs;
    private readonly ILogger _logger;
    private int _childStdin = -1;
    private int _childStdout = -1;
    private int _childStderr = -1;
    private int _devNull = -1;
    private bool _disposed;

    private ProcessIo(PtyIo pty, ILogger logger)
    {
        _pty = pty;
        _logs = pty.Logs;
        _logger = logger;
        OutputDone = pty.OutputDone;
    }

    private ProcessIo(Stdio stdio, ILogger logger)
    {
        _logger = logger;
        _shutdown = new CancelSignal();
        _logs = new CriLogFiles(logger);
        var opened = new List<int>();
        try
        {
            if (stdio.Stdin.Length > 0)
            {
                var client = OpenClient(stdio.Stdin, Libc.O_RDONLY | Libc.O_NONBLOCK, "stdin", opened);
                var (read, write) = Pipe(opened);
                SetNonBlocking(write);
                _childStdin = read;
                _closeStdin = new CancelSignal();
                _stdinCopier = new InputCopier(client, write, _shutdown, _closeStdin, logger);
            }
            if (stdio.Stdout.Length > 0)
                _stdoutCopier = Output("stdout", stdio.Stdout, out _childStdout, opened);
            if (stdio.Stderr.Length > 0)
                _stderrCopier = Output("stderr", stdio.Stderr, out _childStderr, opened);

            if (_childStdin < 0 || _childStdout < 0 || _childStderr < 0)
            {
                _devNull = Open("/dev/null", Libc.O_RDWR, "/dev/null", opened);
                if (_childStdin < 0)
                    _childStdin = _devNull;
                if (_childStdout < 0)
                    _childStdout = _devNull;
                if (_childStderr < 0)
                    _childStderr = _devNull;
            }
        }
        catch
        {
            foreach (var fd in opened)
                Libc.Close(fd);
            _logs.Dispose();
            _closeStdin?.Dispose();
            _shutdown?.Dispose();
            throw;
        }

        _stdinCopier?.Start();
        _stdoutCopier?.Start();
        _stderrCopier?.Start();
        OutputDone = (_stdoutCopier, _stderrCopier) switch
        {
            (null, null) => Task.CompletedTask,
            ({ } o, null) => o.Done,
            (null, { } e) => e.Done,
            ({ } o, { } e) => Task.WhenAll(o.Done, e.Done),
        };
    }

    /// <summary>Completes when stdout and stderr reached EOF (or were cancelled).</summary>
    public Task OutputDone { get; }

    public int ChildStdin => _childStdin;

    public int ChildStdout => _childStdout;

    public int ChildStderr => _childStderr;

    public string? ConsoleSocket => _pty?.ConsoleSocketPath;

    /// <param name="consoleSocket">For a terminal (<c>stdio.Terminal</c>): where runc is to send the pty master.</param>
    /// <exception cref="IOException">A client path (or the console socket) cannot be opened; the message names it.</exception>
    public static ProcessIo Open(Stdio stdio, ILogger logger, string? consoleSocket = null)
    {
        if (!stdio.Terminal)
            return new ProcessIo(stdio, logger);
        ArgumentNullException.ThrowIfNull(consoleSocket);
        return new ProcessIo(PtyIo.Open(stdio, consoleSocket, logger), logger);
    }

    /// <summary>
    /// After runc create/exec succeeded: a terminal's io takes the pty master
    /// runc sent and starts copying; nothing for pipes (they copy from the start).
    /// </summary>
    /// <exception cref="IOException">runc sent no terminal.</exception>
    public void AttachConsole() => _pty?.Attach();

    /// <summary>Whether stdout or stderr is written to a CRI log (for a terminal: stdout).</summary>
    public bool HasCriLog => _logs?.Any == true;

    /// <summary>Reopens the CRI log files by path (log rotation); nothing when there are none (the caller checks).</summary>
    /// <exception cref="IOException">A path cannot be opened; the message names it.</exception>
    /// <exception cref="ObjectDisposedException">The io was released meanwhile.</exception>
    public void ReopenLog()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _logs?.Reopen();
    }

    /// <summary>Resizes the terminal; nothing for a process without one (the caller checks).</summary>
    public void Resize(WindowSize size) => _pty?.Resize(size);

    public void OnSpawned()
    {
        // The same /dev/null fd may stand for several streams: close each number once.
        var fds = new HashSet<int> { _childStdin, _childStdout, _childStderr, _devNull };
        foreach (var fd in fds)
        {
            if (fd >= 0)
                Libc.Close(fd);
        }
        _childStdin = _childStdout = _childStderr = _devNull = -1;
    }

    /// <summary>Waits (bounded) for stdout/stderr EOF; a grandchild may hold the pipe open forever.</summary>
    public async Task WaitOutputAsync(TimeSpan timeout)
    {
        if (OutputDone.IsCompleted)
            return;
        using var cancel = new CancellationTokenSource();
        var finished = await Task.WhenAny(OutputDone, Task.Delay(timeout, cancel.Token)).ConfigureAwait(false);
        if (finished == OutputDone)
            await cancel.CancelAsync().ConfigureAwait(false);
        else
            _logger.LogDebug("output still open after {Timeout}; reporting the exit anyway", timeout);
    }

    /// <summary>Closes the process's stdin (it reads EOF) after forwarding what the client already wrote.</summary>
    public void CloseStdin()
    {
        if (_pty is not null)
            _pty.CloseStdin();
        else
            _closeStdin?.Signal();
    }

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        if (_pty is not null)
        {
            _pty.Dispose();
            return;
        }
        OnSpawned();
        _shutdown?.Signal();
        var joined = (_stdinCopier?.Join(JoinTimeout) ?? true)
            & (_stdoutCopier?.Join(JoinTimeout) ?? true)
            & (_stderrCopier?.Join(JoinTimeout) ?? true);
        if (joined)
        {
            // Only now is no thread polling the eventfds or writing a log.
            _shutdown?.Dispose();
            _closeStdin?.Dispose();
            _logs?.Dispose();
        }
        else
        {
            _logger.LogWarning("an io thread did not stop; leaving its cancel fd and log files open");
        }
    }

    private OutputCopier Output(string name, string path, out int childEnd, List<int> opened)
    {
        if (_logs!.TryStream(name, path) is { } log)
        {
            var (logRead, logWrite) = Pipe(opened);
            SetNonBlocking(logRead);
            childEnd = logWrite;
            return new OutputCopier(name, logRead, log, _shutdown!, _logger);
        }
        // O_RDWR never blocks on a FIFO (the shim counts as a reader, so an absent
        // client cannot hang it and writes never fail with EPIPE); for a regular
        // file it appends, creating it if needed.
        var client = OpenClient(path, Libc.O_RDWR | Libc.O_NONBLOCK | Libc.O_APPEND | Libc.O_CREAT, name, opened);
        var (read, write) = Pipe(opened);
        SetNonBlocking(read);
        childEnd = write;
        return new OutputCopier(name, read, client, _shutdown!, _logger);
    }

    private static int OpenClient(string path, int flags, string what, List<int> opened) =>
        Open(path, flags, $"{what} {path}", opened);

    private static int Open(string path, int flags, string what, List<int> opened)
    {
        var fd = Libc.Open(path, flags | Libc.O_CLOEXEC, 0x180);
        if (fd < 0)
            throw new IOException($"cannot open {what}: {Libc.ErrorText(Libc.LastError)}");
        opened.Add(fd);
        return fd;
    }

    private static unsafe (int Read, int Write) Pipe(List<int> opened)
    {
        var fds = stackalloc int[2];
        if (Libc.Pipe2(fds, Libc.O_CLOEXEC) != 0)
            throw new IOException($"pipe2: {Libc.ErrorText(Libc.LastError)}");
        opened.Add(fds[0]);
        opened.Add(fds[1]);
        return (fds[0], fds[1]);
    }

    // Only the shim's end: the child's end must stay blocking for the container process.
    private static void SetNonBlocking(int fd)
    {
        var flags = Libc.Fcntl(fd, Libc.F_GETFL, 0);
        if (flags < 0 || Libc.Fcntl(fd, Libc.F_SETFL, flags | Libc.O_NONBLOCK) < 0)
            throw new IOException($"fcntl O_NONBLOCK: {Libc.ErrorText(Libc.LastError)}");
    }
}
