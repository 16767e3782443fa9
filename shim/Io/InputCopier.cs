using System.Runtime.InteropServices;
using Containerd.Shared.Native;
using Containerd.Shim.Native;
using Microsoft.Extensions.Logging;

namespace Containerd.Shim.Io;

/// <summary>
/// Copies the client's stdin FIFO into the process's stdin pipe on a
/// dedicated thread. The FIFO is opened O_RDONLY|O_NONBLOCK so that an absent
/// client cannot hang the shim; poll() only reports it once a writer has come
/// (Linux does not report POLLHUP for a FIFO that never had a writer), and
/// EOF when the client closes it. CloseStdin stops the copy after forwarding
/// what the client already wrote, then closes the pipe so the process sees EOF.
/// For a terminal the destination is the pty master, where closing means
/// nothing to the process: the caller's <c>endOfInput</c> bytes (its VEOF)
/// are written after the flush instead.
/// </summary>
internal sealed unsafe class InputCopier
{
    private const int BufferSize = 16 * 1024;
    // Bound on forwarding already-written input after CloseStdin to a process that does not read.
    private const int CloseFlushMs = 1000;

    private readonly CancelSignal _shutdown;
    private readonly CancelSignal _closeStdin;
    private readonly ILogger _logger;
    private readonly Thread _thread;
    private readonly Func<int, int, byte[]>? _endOfInput;
    private int _client;
    private int _pipe;
    // The last byte written to the destination, -1 before any: a terminal's end of input depends on it.
    private int _lastForwarded = -1;

    /// <param name="endOfInput">
    /// For a terminal: (destination fd, last byte forwarded or -1) → the bytes
    /// that end the input, written after CloseStdin's flush. Null for a pipe.
    /// </param>
    public InputCopier(
        int clientFd, int pipeWrite, CancelSignal shutdown, CancelSignal closeStdin, ILogger logger, Func<int, int, byte[]>? endOfInput = null)
    {
        _client = clientFd;
        _pipe = pipeWrite;
        _shutdown = shutdown;
        _closeStdin = closeStdin;
        _logger = logger;
        _endOfInput = endOfInput;
        _thread = new Thread(Run, 128 * 1024) { IsBackground = true, Name = "stdin" };
    }

    public void Start() => _thread.Start();

    public bool Join(TimeSpan timeout) => _thread.Join(timeout);

    private void Run()
    {
        var buffer = (byte*)NativeMemory.Alloc(BufferSize);
        try
        {
            Copy(buffer);
            if (_closeStdin.IsSignalled && !_shutdown.IsSignalled)
            {
                Flush(buffer);
                if (_endOfInput is not null && !_shutdown.IsSignalled)
                    WriteEndOfInput();
            }
        }
        catch (Exception e)
        {
            _logger.LogWarning("stdin copy failed: {Error}", e.Message);
        }
        finally
        {
            NativeMemory.Free(buffer);
            Posix.CloseQuietly(ref _pipe);
            Posix.CloseQuietly(ref _client);
        }
    }

    private void Copy(byte* buffer)
    {
        while (true)
        {
            if (FdWait.Wait(_client, Libc.POLLIN, _shutdown.Fd, _closeStdin.Fd) != FdWait.Result.Ready)
                return;
            var n = Libc.Read(_client, buffer, BufferSize);
            if (n < 0)
            {
                var errno = Libc.LastError;
                if (errno is Libc.EINTR or Libc.EAGAIN)
                    continue;
                _logger.LogWarning("stdin: read: {Error}", Libc.ErrorText(errno));
                return;
            }
            if (n == 0)
                return; // the client closed its end: EOF for the process too
            if (!WriteAll(buffer, (int)n, -1))
                return;
        }
    }

    /// <summary>Forwards input the client wrote before it asked to close stdin.</summary>
    private void Flush(byte* buffer)
    {
        var deadline = Environment.TickCount64 + CloseFlushMs;
        while (Environment.TickCount64 < deadline)
        {
            var n = Libc.Read(_client, buffer, BufferSize);
            if (n <= 0)
                return;
            if (!WriteAll(buffer, (int)n, (int)Math.Max(1, deadline - Environment.TickCount64)))
                return;
        }
    }

    private void WriteEndOfInput()
    {
        var end = _endOfInput!(_pipe, _lastForwarded);
        fixed (byte* bytes = end)
            WriteAll(bytes, end.Length, CloseFlushMs);
    }

    private bool WriteAll(byte* buffer, int count, int timeoutMs)
    {
        if (count > 0)
            _lastForwarded = buffer[count - 1];
        var offset = 0;
        while (offset < count)
        {
            var n = Libc.Write(_pipe, buffer + offset, count - offset);
            if (n >= 0)
            {
                offset += (int)n;
                continue;
            }
            var errno = Libc.LastError;
            if (errno == Libc.EINTR)
                continue;
            if (errno != Libc.EAGAIN)
                return false; // EPIPE: the process closed its stdin
            // While flushing after CloseStdin only shutdown may interrupt; otherwise CloseStdin does too.
            var result = timeoutMs < 0
                ? FdWait.Wait(_pipe, Libc.POLLOUT, _shutdown.Fd, _closeStdin.Fd)
                : FdWait.Wait(_pipe, Libc.POLLOUT, _shutdown.Fd, -1, timeoutMs);
            if (result != FdWait.Result.Ready)
                return false;
        }
        return true;
    }
}
