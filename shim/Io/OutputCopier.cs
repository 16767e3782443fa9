using System.Runtime.InteropServices;
using Containerd.Shared.Native;
using Containerd.Shim.Native;
using Microsoft.Extensions.Logging;

namespace Containerd.Shim.Io;

/// <summary>
/// Copies a process's stdout or stderr pipe into the client's FIFO (or file)
/// on a dedicated thread with blocking-style poll/read/write, so no thread
/// pool thread is ever parked on a pipe. At pipe EOF it reports
/// <see cref="Done"/> (the EXIT event waits for that), then keeps the client
/// fd open until the client has read what sits in the FIFO — closing the last
/// fd of a FIFO would discard it — and closes it so the client sees EOF.
/// The source may also be a pty master (a terminal process's output).
/// With a <see cref="CriLogStream"/> instead of a client fd the bytes are
/// framed into CRI log records; the last partial line is written before
/// <see cref="Done"/>, so EXIT still follows all output.
/// </summary>
internal sealed unsafe class OutputCopier
{
    private const int BufferSize = 32 * 1024;
    private const int DrainPollMs = 50;

    private readonly string _name;
    private readonly CancelSignal _cancel;
    private readonly ILogger _logger;
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Thread _thread;
    private readonly CriLogStream? _log;
    private int _pipe;
    private int _client;

    public OutputCopier(string name, int pipeRead, int clientFd, CancelSignal cancel, ILogger logger)
    {
        _name = name;
        _pipe = pipeRead;
        _client = clientFd;
        _cancel = cancel;
        _logger = logger;
        _thread = new Thread(Run, 128 * 1024) { IsBackground = true, Name = name };
    }

    /// <summary>Copies into a CRI log: the writer belongs to the process's io, which closes it after <see cref="Join"/>.</summary>
    public OutputCopier(string name, int pipeRead, CriLogStream log, CancelSignal cancel, ILogger logger)
        : this(name, pipeRead, -1, cancel, logger)
    {
        _log = log;
    }

    /// <summary>Completes at pipe EOF (all output copied) or when cancelled.</summary>
    public Task Done => _done.Task;

    public void Start() => _thread.Start();

    public bool Join(TimeSpan timeout) => _thread.Join(timeout);

    private void Run()
    {
        var buffer = (byte*)NativeMemory.Alloc(BufferSize);
        try
        {
            var eof = Copy(buffer);
            // Even when cancelled (a delete with a grandchild holding the pipe): what was read is kept.
            _log?.Complete();
            _done.TrySetResult();
            if (eof)
                WaitForClientToDrain();
        }
        catch (Exception e)
        {
            _logger.LogWarning("{Stream} copy failed: {Error}", _name, e.Message);
        }
        finally
        {
            NativeMemory.Free(buffer);
            Posix.CloseQuietly(ref _pipe);
            Posix.CloseQuietly(ref _client);
            _done.TrySetResult();
        }
    }

    /// <summary>Returns true at EOF, false when cancelled.</summary>
    private bool Copy(byte* buffer)
    {
        while (true)
        {
            if (FdWait.Wait(_pipe, Libc.POLLIN, _cancel.Fd) != FdWait.Result.Ready)
                return false;
            var n = Libc.Read(_pipe, buffer, BufferSize);
            if (n < 0)
            {
                var errno = Libc.LastError;
                if (errno is Libc.EINTR or Libc.EAGAIN)
                    continue;
                // A pty master reads EIO once the last slave fd closed: that is its EOF.
                if (errno == Posix.EIO)
                    return true;
                _logger.LogWarning("{Stream}: read: {Error}", _name, Libc.ErrorText(errno));
                return true;
            }
            if (n == 0)
                return true;
            if (_log is not null)
                _log.Append(new ReadOnlySpan<byte>(buffer, (int)n));
            else if (_client >= 0 && !WriteAll(buffer, (int)n))
                return false;
        }
    }

    private bool WriteAll(byte* buffer, int count)
    {
        var offset = 0;
        while (offset < count)
        {
            var n = Libc.Write(_client, buffer + offset, count - offset);
            if (n >= 0)
            {
                offset += (int)n;
                continue;
            }
            var errno = Libc.LastError;
            if (errno == Libc.EINTR)
                continue;
            if (errno == Libc.EAGAIN)
            {
                // The client is not reading: wait (back-pressure reaches the process, as with containerd).
                if (FdWait.Wait(_client, Libc.POLLOUT, _cancel.Fd) != FdWait.Result.Ready)
                    return false;
                continue;
            }
            // The client's side is gone; keep draining the pipe so the process never blocks on it.
            _logger.LogDebug("{Stream}: write: {Error}", _name, Libc.ErrorText(errno));
            Posix.CloseQuietly(ref _client);
            return true;
        }
        return true;
    }

    private void WaitForClientToDrain()
    {
        while (_client >= 0 && Unread(_client) > 0)
        {
            if (FdWait.Wait(_cancel.Fd, Libc.POLLIN, -1, -1, DrainPollMs) != FdWait.Result.TimedOut)
                return;
        }
    }

    private static int Unread(int fd)
    {
        int count;
        return Posix.Ioctl(fd, Posix.FIONREAD, &count) == 0 ? count : 0;
    }
}
