using Containerd.Shared.Native;
using Containerd.Shim.Native;
using Microsoft.Extensions.Logging;

namespace Containerd.Shim.Io;

/// <summary>
/// One CRI log file (a <c>crilog://</c> target), shared by the stdout and
/// stderr copiers of a process. A record is written with one write(2) under
/// the writer's lock, so records of the two streams never interleave, and
/// <see cref="Reopen"/> swaps the fd under the same lock: a record goes wholly
/// to the old file or wholly to the new one. Write errors (a full disk, a
/// removed mount) are logged once per run of failures and the record is
/// dropped: the copiers keep draining the pipes, so the container never
/// blocks on its log.
/// </summary>
internal sealed unsafe class CriLogWriter : IDisposable
{
    // O_WRONLY|O_APPEND|O_CREAT, 0640: as containerd opens a container's log.
    private const int Flags = Libc.O_WRONLY | Libc.O_APPEND | Libc.O_CREAT | Libc.O_CLOEXEC;
    private const int Mode = 0x1A0; // 0640

    /// <summary>The longest stream name a record may carry (<c>stdout</c>, <c>stderr</c>).</summary>
    public const int MaxStreamNameLength = 16;

    /// <summary>Room a record buffer keeps before its text for the header: time, stream, tag and three spaces.</summary>
    public const int MaxHeaderLength = CriLogTime.MaxLength + MaxStreamNameLength + 4;

    private readonly Lock _gate = new();
    private readonly ILogger _logger;
    private int _fd;
    private bool _failing;

    private CriLogWriter(string path, int fd, ILogger logger)
    {
        Path = path;
        _fd = fd;
        _logger = logger;
    }

    /// <summary>The file's path, as the target gave it.</summary>
    public string Path { get; }

    /// <summary>Opens (creating if needed) the file for appending. Its directory must exist.</summary>
    /// <exception cref="IOException">It cannot be opened; the message names the path and why.</exception>
    public static CriLogWriter Open(string path, ILogger logger) => new(path, OpenFile(path), logger);

    /// <summary>
    /// Appends one record: <paramref name="buffer"/> holds its text and the
    /// final '\n' (<paramref name="textLength"/> bytes in all) at
    /// <paramref name="textStart"/>, which is at least
    /// <see cref="MaxHeaderLength"/>; the header (<c>time stream tag </c>) is
    /// formatted into the bytes before it under the lock, so the times of the
    /// records in the file never go back. Never throws: a failure is logged
    /// (once until a write succeeds again) and the record dropped.
    /// </summary>
    public void WriteRecord(byte[] buffer, int textStart, int textLength, ReadOnlySpan<byte> stream, byte tag)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(textStart, MaxHeaderLength);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(stream.Length, MaxStreamNameLength);
        Span<byte> header = stackalloc byte[MaxHeaderLength];
        lock (_gate)
        {
            if (_fd < 0)
                return;
            var length = CriLogTime.FormatNow(header);
            header[length++] = (byte)' ';
            stream.CopyTo(header[length..]);
            length += stream.Length;
            header[length++] = (byte)' ';
            header[length++] = tag;
            header[length++] = (byte)' ';
            var start = textStart - length;
            header[..length].CopyTo(buffer.AsSpan(start));
            WriteLocked(buffer.AsSpan(start, length + textLength));
        }
    }

    /// <summary>Appends bytes as they are (one write(2) under the lock); failures as for <see cref="WriteRecord"/>.</summary>
    public void Write(ReadOnlySpan<byte> bytes)
    {
        lock (_gate)
        {
            if (_fd >= 0)
                WriteLocked(bytes);
        }
    }

    private void WriteLocked(ReadOnlySpan<byte> record)
    {
        fixed (byte* bytes = record)
        {
            var offset = 0;
            while (offset < record.Length)
            {
                var n = Libc.Write(_fd, bytes + offset, record.Length - offset);
                if (n > 0)
                {
                    offset += (int)n;
                    continue;
                }
                var errno = n < 0 ? Libc.LastError : 0;
                if (errno == Libc.EINTR)
                    continue;
                Failed(errno, record.Length - offset);
                return;
            }
        }
        if (_failing)
        {
            _failing = false;
            _logger.LogInformation("CRI log {Path}: writing again", Path);
        }
    }

    /// <summary>
    /// Opens the path anew (the kubelet renamed the old file) and writes every
    /// later record there; the old fd is closed. When the new file cannot be
    /// opened the old one stays in use, as containerd keeps its old logger.
    /// </summary>
    /// <exception cref="IOException">The path cannot be opened; the message names it.</exception>
    /// <exception cref="ObjectDisposedException">The writer was closed (the process's io released).</exception>
    public void Reopen()
    {
        var fd = OpenFile(Path);
        int old;
        lock (_gate)
        {
            old = _fd;
            if (old >= 0)
            {
                _fd = fd;
                _failing = false;
            }
        }
        if (old < 0)
        {
            Libc.Close(fd);
            throw new ObjectDisposedException(nameof(CriLogWriter), $"the CRI log {Path} is closed");
        }
        Libc.Close(old);
    }

    public void Dispose()
    {
        lock (_gate)
            Posix.CloseQuietly(ref _fd);
    }

    private void Failed(int errno, int lost)
    {
        if (_failing)
            return;
        _failing = true;
        var reason = errno == 0 ? "wrote nothing" : Libc.ErrorText(errno);
        _logger.LogWarning("CRI log {Path}: write failed ({Error}); dropping {Bytes} bytes and what follows until a write succeeds",
            Path, reason, lost);
    }

    private static int OpenFile(string path)
    {
        var fd = Libc.Open(path, Flags, Mode);
        if (fd < 0)
            throw new IOException($"cannot open CRI log {path}: {Libc.ErrorText(Libc.LastError)}");
        return fd;
    }
}
