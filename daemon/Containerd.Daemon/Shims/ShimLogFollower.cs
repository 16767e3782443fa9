using System.Text;
using Containerd.Daemon.Native;
using Microsoft.Extensions.Logging;

namespace Containerd.Daemon.Shims;

/// <summary>
/// Forwards one live task's BUNDLE/shim.log into the daemon's log, so what a
/// shim said survives the bundle (removed at Delete). Whenever the file changes
/// (told by the daemon's one inotify <see cref="ShimLogWatch"/>; without it,
/// every ~250 ms) it reads the bytes added since its last offset and re-logs each complete line under
/// the category <see cref="Category"/>, with the task's namespace and id and
/// the shim's own level (the logfmt <c>level=</c> field; a line without one is
/// the runtime writing to stderr, logged as a warning). A partial line waits
/// for its end.
/// <para>
/// Rotation: the shim renames a full log to shim.log.1 and starts a new one
/// (see the shim's LogFile). A shim.log with another inode than the one being
/// read was rotated: the rest of shim.log.1 (when it is that inode) after the
/// offset is read first, then the new file from its start; a shim.log shorter
/// than the offset was truncated and is read again from its start. At most one
/// rotation can pass between two polls for this to be exact: inotify wakes the
/// follower at each write, and at 1 MiB per generation that is far more than a
/// shim writes in 250 ms.
/// </para>
/// <para>
/// A follower for a task the daemon creates starts at the file's beginning; one
/// for a task recovered at start-up starts at the file's end, so a restart does
/// not log old lines again (lines a shim wrote while no daemon ran stay in
/// shim.log only). <see cref="StopAsync"/> reads what is left before the
/// bundle is removed. The shim never waits for this: it only appends to a file.
/// </para>
/// </summary>
public sealed class ShimLogFollower : IAsyncDisposable
{
    /// <summary>The daemon's log category for forwarded shim lines.</summary>
    public const string Category = "Containerd.Shim";

    /// <summary>A line longer than this is forwarded in pieces, so a runaway writer cannot grow the daemon's memory.</summary>
    internal const int MaxLineBytes = 64 * 1024;

    private static readonly TimeSpan DefaultInterval = TimeSpan.FromMilliseconds(250);

    private readonly string _path;
    private readonly string _namespace;
    private readonly string _id;
    private readonly ILogger _logger;
    private readonly TimeSpan _interval;
    private readonly ShimLogWatch? _watch;
    private IDisposable? _watching;
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly MemoryStream _partial = new();
    private readonly byte[] _buffer = new byte[16 * 1024];
    private long _offset;
    private ulong? _inode;
    private Task _loop = Task.CompletedTask;
    private int _stopped;

    /// <param name="fromStart">Forward the lines already in the file (a new task) rather than only those written from now on.</param>
    /// <param name="watch">Reads on the file's changes; null (or inotify unavailable): polls every <paramref name="interval"/>.</param>
    public ShimLogFollower(
        string path, string @namespace, string id, ILogger logger, bool fromStart, TimeSpan? interval = null, ShimLogWatch? watch = null)
    {
        _watch = watch;
        _path = path;
        _namespace = @namespace;
        _id = id;
        _logger = logger;
        _interval = interval ?? DefaultInterval;
        _inode = FileType.Inode(path);
        _offset = fromStart ? 0 : LengthOf(path) ?? 0;
    }

    /// <summary>The rotated generation the shim keeps beside <paramref name="path"/>.</summary>
    public static string RotatedPath(string path) => path + ".1";

    public void Start()
    {
        if (_watch?.Watch(Path.GetDirectoryName(_path)!, Path.GetFileName(_path), Poll) is { } watching)
        {
            _watching = watching;
            // What was written before the watch began.
            Poll();
            return;
        }
        _loop = Task.Run(() => LoopAsync(_stop.Token));
    }

    /// <summary>Stops following after a last read of what the shim wrote. Idempotent.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
            return;
        _watching?.Dispose();
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        Poll();
        // The shim is gone or no longer ours: a line it left unfinished is still worth seeing.
        lock (_gate)
            FlushPartial();
        _stop.Dispose();
    }

    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    /// <summary>Forwards every complete line added since the last call.</summary>
    internal void Poll()
    {
        lock (_gate)
        {
            try
            {
                if (FileType.Inode(_path) is not { } inode || LengthOf(_path) is not { } length)
                    return; // between the shim's rename and its new file, or the bundle is gone
                _inode ??= inode;
                if (inode != _inode)
                {
                    // Rotated: finish the old generation where we were, then start the new file.
                    var rotated = RotatedPath(_path);
                    if (FileType.Inode(rotated) == _inode)
                        ReadFrom(rotated, _offset);
                    FlushPartial();
                    _offset = 0;
                    _inode = inode;
                }
                else if (length < _offset)
                {
                    // Truncated in place: what was lost is lost; go on from the start.
                    FlushPartial();
                    _offset = 0;
                }
                _offset += ReadFrom(_path, _offset);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The bundle went away under the read; nothing more to forward.
            }
        }
    }

    private async Task LoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_interval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
                Poll();
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <returns>How many bytes were read; 0 when the file is missing or not longer than <paramref name="offset"/>.</returns>
    private long ReadFrom(string path, long offset)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return 0;
        }
        using (stream)
        {
            if (stream.Length <= offset)
                return 0;
            stream.Seek(offset, SeekOrigin.Begin);
            long total = 0;
            int n;
            while ((n = stream.Read(_buffer, 0, _buffer.Length)) > 0)
            {
                total += n;
                Split(_buffer.AsSpan(0, n));
            }
            return total;
        }
    }

    private void Split(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            var newline = bytes.IndexOf((byte)'\n');
            if (newline < 0)
            {
                _partial.Write(bytes);
                if (_partial.Length >= MaxLineBytes)
                    FlushPartial();
                return;
            }
            _partial.Write(bytes[..newline]);
            FlushPartial();
            bytes = bytes[(newline + 1)..];
        }
    }

    private void FlushPartial()
    {
        if (_partial.Length == 0)
            return;
        var line = Encoding.UTF8.GetString(_partial.GetBuffer(), 0, (int)_partial.Length).TrimEnd('\r');
        _partial.SetLength(0);
        if (line.Length == 0)
            return;
        var level = LevelOf(line);
        if (_logger.IsEnabled(level))
            _logger.Log(level, "shim {Namespace} {ContainerId}: {ShimLine}", _namespace, _id, line);
    }

    /// <summary>The shim's level from its logfmt line (see the shim's FileLoggerProvider); warning for anything else.</summary>
    internal static LogLevel LevelOf(string line)
    {
        var start = line.StartsWith("level=", StringComparison.Ordinal) ? 0 : line.IndexOf(" level=", StringComparison.Ordinal) + 1;
        if (start == 0 && !line.StartsWith("level=", StringComparison.Ordinal))
            return LogLevel.Warning;
        var value = line.AsSpan(start + "level=".Length);
        var end = value.IndexOf(' ');
        if (end >= 0)
            value = value[..end];
        return value switch
        {
            "trace" => LogLevel.Trace,
            "debug" => LogLevel.Debug,
            "info" => LogLevel.Information,
            "warning" => LogLevel.Warning,
            "error" => LogLevel.Error,
            "fatal" => LogLevel.Critical,
            _ => LogLevel.Warning,
        };
    }

    private static long? LengthOf(string path)
    {
        try
        {
            var info = new FileInfo(path);
            return info.Exists ? info.Length : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
