using System.Text;
using Containerd.Shared.Native;
using Microsoft.Extensions.Logging;

namespace Containerd.Shim.Logging;

/// <summary>
/// Writes logfmt lines to BUNDLE/shim.log. Every line carries the task's
/// identity (container id, namespace, shim pid) so logs of many shims can be
/// merged. Each line is one write(2) on an O_APPEND fd: lines from several
/// threads (and the runtime's own stderr, which points at the same file)
/// never interleave mid-line.
/// <para>
/// The file is bounded (<see cref="LogFile.MaxBytes"/>): once the bytes this
/// provider wrote pass the cap, the file is renamed to shim.log.1 (replacing
/// the older generation) and a new shim.log is dup2'ed over the same fd
/// number, so every writer (and stderr, once it follows the log) moves to the
/// new file without a lock on the write path. Writes by the runtime to stderr
/// are not counted; they are rare.
/// </para>
/// </summary>
internal sealed class FileLoggerProvider : ILoggerProvider
{
    private readonly int _fd;
    private readonly string _path;
    private readonly long _maxBytes;
    private readonly string _fixedFields;
    private readonly Lock _rotation = new();
    private long _size;
    private volatile bool _stderrFollows;

    /// <param name="fd">The log's fd (<see cref="LogFile.Open"/>); rotation replaces the file behind this fd number.</param>
    /// <param name="path">The log's path, for rotation.</param>
    public FileLoggerProvider(int fd, string path, string containerId, string @namespace, int pid, long maxBytes = LogFile.MaxBytes)
    {
        _fd = fd;
        _path = path;
        _maxBytes = maxBytes;
        _fixedFields = $" id={Quote(containerId)} namespace={Quote(@namespace)} pid={pid}";
        try
        {
            _size = new FileInfo(path).Length;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _size = 0;
        }
    }

    /// <summary>Stderr has been dup'ed onto the log: rotation moves it to the new file as well.</summary>
    public void StderrFollows() => _stderrFollows = true;

    public ILogger CreateLogger(string categoryName) => new FileLogger(this, ShortCategory(categoryName));

    public void Dispose()
    {
        // The fd is owned by the host (it is also dup'ed onto stderr); nothing to release.
    }

    internal unsafe void Write(LogLevel level, string category, string message, IEnumerable<KeyValuePair<string, object?>>? fields, Exception? exception)
    {
        var line = new StringBuilder(160);
        line.Append("time=").Append(DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture));
        line.Append(" level=").Append(LevelName(level));
        line.Append(" msg=").Append(Quote(message));
        line.Append(_fixedFields);
        line.Append(" category=").Append(category);
        if (fields is not null)
        {
            foreach (var (key, value) in fields)
            {
                if (key == "{OriginalFormat}")
                    continue;
                line.Append(' ').Append(key).Append('=').Append(Quote(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? ""));
            }
        }
        if (exception is not null)
            line.Append(" error=").Append(Quote($"{exception.GetType().Name}: {exception.Message}"));
        line.Append('\n');

        var bytes = Encoding.UTF8.GetBytes(line.ToString());
        fixed (byte* p = bytes)
        {
            var written = 0;
            while (written < bytes.Length)
            {
                var n = Libc.Write(_fd, p + written, bytes.Length - written);
                if (n <= 0)
                {
                    if (n < 0 && Libc.LastError == Libc.EINTR)
                        continue;
                    return; // nowhere left to report a logging failure
                }
                written += (int)n;
            }
        }
        if (Interlocked.Add(ref _size, bytes.Length) > _maxBytes)
            Rotate();
    }

    private void Rotate()
    {
        lock (_rotation)
        {
            // Another thread may have rotated while this one waited.
            if (Interlocked.Read(ref _size) <= _maxBytes)
                return;
            // Whatever happens, count from zero again: a log that cannot be
            // rotated (read-only bundle) must not make every line retry it.
            Interlocked.Exchange(ref _size, 0);
            try
            {
                File.Move(_path, LogFile.RotatedPath(_path), overwrite: true);
                var fresh = LogFile.Open(_path);
                Libc.Dup2(fresh, _fd);
                if (_stderrFollows)
                    Libc.Dup2(fresh, 2);
                Libc.Close(fresh);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Nowhere to report it; the log keeps growing in place until the next attempt.
            }
        }
    }

    private static string LevelName(LogLevel level) => level switch
    {
        LogLevel.Trace => "trace",
        LogLevel.Debug => "debug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warning",
        LogLevel.Error => "error",
        _ => "fatal",
    };

    private static string ShortCategory(string category)
    {
        var dot = category.LastIndexOf('.');
        return dot >= 0 && category.StartsWith("Containerd.", StringComparison.Ordinal) ? category[(dot + 1)..] : category;
    }

    private static string Quote(string value)
    {
        var needsQuotes = value.Length == 0;
        foreach (var c in value)
        {
            if (c <= ' ' || c == '"' || c == '=' || c == '\\')
            {
                needsQuotes = true;
                break;
            }
        }
        if (!needsQuotes)
            return value;
        var quoted = new StringBuilder(value.Length + 2).Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': quoted.Append("\\\""); break;
                case '\\': quoted.Append("\\\\"); break;
                case '\n': quoted.Append("\\n"); break;
                case '\r': quoted.Append("\\r"); break;
                case '\t': quoted.Append("\\t"); break;
                default: quoted.Append(c); break;
            }
        }
        return quoted.Append('"').ToString();
    }
}
