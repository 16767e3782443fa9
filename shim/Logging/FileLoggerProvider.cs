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
/// </summary>
internal sealed class FileLoggerProvider : ILoggerProvider
{
    private readonly int _fd;
    private readonly string _fixedFields;

    public FileLoggerProvider(int fd, string containerId, string @namespace, int pid)
    {
        _fd = fd;
        _fixedFields = $" id={Quote(containerId)} namespace={Quote(@namespace)} pid={pid}";
    }

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
