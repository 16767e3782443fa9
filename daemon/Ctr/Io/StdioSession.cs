using Containerd.Ctr.Cli;
using Containerd.Ctr.Native;
using Containerd.Shared.Native;
using Microsoft.Win32.SafeHandles;

namespace Containerd.Ctr.Io;

/// <summary>
/// The FIFOs through which a container process's stdio reaches ctr, copied to
/// and from ctr's own streams. <see cref="Open"/> makes new ones in a private
/// directory (opened before the process exists, so nothing written early is
/// lost; removed on dispose); <see cref="Attach"/> opens a running task's
/// existing ones and leaves them in place.
/// </summary>
public sealed class StdioSession : IDisposable
{
    /// <summary>open(2) of a FIFO for writing, non-blocking, when no process has it open for reading.</summary>
    private const int ENXIO = 6;

    private readonly string? _ownedDirectory;
    private readonly bool _terminal;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Thread> _outputThreads = [];
    private readonly TaskCompletionSource _stdoutClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stderrClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _inputEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _detached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _stdinFd = -1;
    private int _stdoutFd = -1;
    private int _stderrFd = -1;
    private long _lastOutput = Environment.TickCount64;
    private bool _inputStarted;

    private StdioSession(string? ownedDirectory, string stdin, string stdout, string stderr, bool terminal)
    {
        _ownedDirectory = ownedDirectory;
        _terminal = terminal;
        Stdin = stdin;
        Stdout = stdout;
        Stderr = stderr;
        OutputClosed = Task.WhenAll(_stdoutClosed.Task, _stderrClosed.Task);
    }

    /// <summary>Path of the stdin FIFO, or "" when the process gets no stdin from ctr.</summary>
    public string Stdin { get; }

    /// <summary>Path of the stdout FIFO, or "" (attach to a task without one).</summary>
    public string Stdout { get; }

    /// <summary>Path of the stderr FIFO, or "" with a terminal (the pty merges it into stdout).</summary>
    public string Stderr { get; }

    /// <summary>Completes when the process's stdout and stderr have both reached EOF.</summary>
    public Task OutputClosed { get; }

    /// <summary>Completes when ctr's own stdin has been copied to its end; never when stdin is not forwarded.</summary>
    public Task InputEnded => _inputEnded.Task;

    /// <summary>Completes when the user typed the detach keys (only with a <see cref="DetachKeyScanner"/>).</summary>
    public Task Detached => _detached.Task;

    /// <summary>
    /// Makes new FIFOs for a process ctr creates. With <paramref name="terminal"/>
    /// there is no stderr FIFO and ctr's stdin is read directly (see <see cref="StartInput"/>).
    /// </summary>
    public static StdioSession Open(string id, bool forwardStdin, bool terminal = false)
    {
        var directory = FifoDirectory.Create(id);
        var session = new StdioSession(
            directory,
            forwardStdin ? Path.Combine(directory, "stdin") : "",
            Path.Combine(directory, "stdout"),
            terminal ? "" : Path.Combine(directory, "stderr"),
            terminal);
        try
        {
            session.OpenNew();
            return session;
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens a task's existing FIFOs without blocking: the output ones for
    /// reading (the shim keeps a writer, so an open never waits); stdin for
    /// writing only if something reads it, else the session has no stdin.
    /// </summary>
    public static StdioSession Attach(string stdin, string stdout, string stderr, bool terminal)
    {
        var session = new StdioSession(null, stdin, stdout, stderr, terminal);
        try
        {
            session.OpenExisting();
            return session;
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>Whether the session has a stdin FIFO open for writing.</summary>
    public bool HasInput => Volatile.Read(ref _stdinFd) >= 0;

    /// <summary>
    /// Starts copying ctr's stdin to the process. For a terminal (or with
    /// detach keys) fd 0 is read directly, which never touches the terminal's
    /// settings; otherwise through System.Console, as redirected input always was.
    /// </summary>
    public void StartInput(DetachKeyScanner? detachKeys = null)
    {
        var fd = Volatile.Read(ref _stdinFd);
        if (fd < 0 || _inputStarted)
            return;
        _inputStarted = true;
        var direct = _terminal || detachKeys is not null;
        var token = _stop.Token;
        var input = new Thread(() =>
        {
            if (!direct)
            {
                try
                {
                    using var source = Console.OpenStandardInput();
                    FifoCopier.CopyIn(source, fd);
                }
                finally
                {
                    _inputEnded.TrySetResult();
                }
                return;
            }
            // Only a real end of input completes InputEnded (it leads to CloseStdin);
            // a detach or ctr's own teardown must leave the process's stdin alone.
            switch (FifoCopier.CopyInDirect(TerminalNative.StdinFd, fd, detachKeys, token))
            {
                case InputEnd.Detached:
                    _detached.TrySetResult();
                    break;
                case InputEnd.EndOfInput:
                case InputEnd.ReaderGone:
                    _inputEnded.TrySetResult();
                    break;
            }
        })
        { IsBackground = true, Name = "ctr-stdin" };
        input.Start();
    }

    /// <summary>Closes ctr's write end of the stdin FIFO; call once <see cref="InputEnded"/> completed and the process started.</summary>
    public void CloseInput()
    {
        var fd = Interlocked.Exchange(ref _stdinFd, -1);
        if (fd >= 0)
            Libc.Close(fd);
    }

    /// <summary>
    /// After the process exited: waits until its output is closed, or has been
    /// quiet for <paramref name="quiet"/> (the shim may keep an attached FIFO open
    /// past the exit), but no longer than <paramref name="limit"/>.
    /// </summary>
    public async Task WaitForOutputAsync(TimeSpan quiet, TimeSpan limit, CancellationToken cancellationToken)
    {
        var deadline = Environment.TickCount64 + (long)limit.TotalMilliseconds;
        var step = TimeSpan.FromMilliseconds(Math.Max(10, quiet.TotalMilliseconds / 4));
        var start = Environment.TickCount64;
        while (!OutputClosed.IsCompleted && Environment.TickCount64 < deadline)
        {
            var sinceData = Environment.TickCount64 - Math.Max(start, Interlocked.Read(ref _lastOutput));
            if (sinceData >= quiet.TotalMilliseconds)
                return;
            await Task.WhenAny(OutputClosed, Task.Delay(step, cancellationToken));
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        foreach (var thread in _outputThreads)
            thread.Join(TimeSpan.FromSeconds(1));
        CloseInput();
        CloseFd(ref _stdoutFd);
        CloseFd(ref _stderrFd);
        if (_ownedDirectory is not null)
            FifoDirectory.Remove(_ownedDirectory);
        _stop.Dispose();
    }

    private void OpenNew()
    {
        _stdoutFd = MakeAndOpen(Stdout, Libc.O_RDONLY | Libc.O_NONBLOCK);
        if (Stderr.Length > 0)
            _stderrFd = MakeAndOpen(Stderr, Libc.O_RDONLY | Libc.O_NONBLOCK);
        StartOutputs();
        if (Stdin.Length > 0)
        {
            // O_RDWR: the open cannot block, and the FIFO keeps a writer until
            // ctr's stdin ends, so the process sees EOF only then.
            _stdinFd = MakeAndOpen(Stdin, Libc.O_RDWR);
        }
    }

    private void OpenExisting()
    {
        if (Stdout.Length > 0)
            _stdoutFd = OpenExisting(Stdout, "stdout", Libc.O_RDONLY | Libc.O_NONBLOCK);
        if (Stderr.Length > 0)
            _stderrFd = OpenExisting(Stderr, "stderr", Libc.O_RDONLY | Libc.O_NONBLOCK);
        StartOutputs();
        if (Stdin.Length > 0)
        {
            // Non-blocking, or the open would wait for a reader; ENXIO means
            // there is none (the process's stdin is already closed): attach without input.
            var fd = Libc.Open(Stdin, Libc.O_WRONLY | Libc.O_NONBLOCK | Libc.O_CLOEXEC, 0);
            if (fd >= 0)
            {
                Libc.ClearNonBlocking(fd);
                _stdinFd = fd;
            }
            else if (Libc.LastError != ENXIO)
            {
                throw new CtrException($"cannot open stdin {Stdin}: {Libc.ErrorText(Libc.LastError)}");
            }
        }
    }

    private void StartOutputs()
    {
        // A non-blocking open never waits for a writer; reads are gated by poll().
        if (_stdoutFd >= 0)
        {
            Libc.ClearNonBlocking(_stdoutFd);
            StartOutput("stdout", _stdoutFd, Destination(TerminalNative.StdoutFd), _stdoutClosed);
        }
        else
        {
            _stdoutClosed.TrySetResult();
        }
        if (_stderrFd >= 0)
        {
            Libc.ClearNonBlocking(_stderrFd);
            StartOutput("stderr", _stderrFd, Destination(2), _stderrClosed);
        }
        else
        {
            _stderrClosed.TrySetResult();
        }
    }

    /// <summary>
    /// With a terminal, ctr's own fd, unbuffered: System.Console's stream would
    /// initialise the console (terminfo, keypad mode) under a raw-mode session.
    /// </summary>
    private Stream Destination(int fd) => _terminal
        ? new FileStream(new SafeFileHandle(fd, ownsHandle: false), FileAccess.Write, bufferSize: 0)
        : fd == TerminalNative.StdoutFd ? Console.OpenStandardOutput() : Console.OpenStandardError();

    private void StartOutput(string name, int fd, Stream destination, TaskCompletionSource closed)
    {
        var token = _stop.Token;
        var thread = new Thread(() =>
        {
            try
            {
                FifoCopier.CopyOut(fd, destination, token, () => Interlocked.Exchange(ref _lastOutput, Environment.TickCount64));
            }
            finally
            {
                closed.TrySetResult();
            }
        })
        { IsBackground = true, Name = $"ctr-{name}" };
        _outputThreads.Add(thread);
        thread.Start();
    }

    private static int MakeAndOpen(string path, int flags)
    {
        FifoDirectory.MakeFifo(path);
        var fd = Libc.Open(path, flags | Libc.O_CLOEXEC, 0);
        if (fd < 0)
            throw new CtrException($"open {path}: {Libc.ErrorText(Libc.LastError)}");
        return fd;
    }

    private static int OpenExisting(string path, string name, int flags)
    {
        var fd = Libc.Open(path, flags | Libc.O_CLOEXEC, 0);
        if (fd < 0)
            throw new CtrException($"cannot open {name} {path}: {Libc.ErrorText(Libc.LastError)}");
        return fd;
    }

    private static void CloseFd(ref int fd)
    {
        var value = Interlocked.Exchange(ref fd, -1);
        if (value >= 0)
            Libc.Close(value);
    }
}
