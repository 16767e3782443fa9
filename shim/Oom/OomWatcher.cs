using System.Text;
using Containerd.Shared.Native;
using Containerd.Shim.Io;
using Containerd.Shim.Native;
using Microsoft.Extensions.Logging;

namespace Containerd.Shim.Oom;

/// <summary>
/// Watches the container's memory cgroup and calls <c>publish</c> once per
/// OOM the kernel reports, on a thread of its own that sleeps in poll().
/// <list type="bullet">
/// <item>cgroup v1: an eventfd registered through <c>cgroup.event_control</c>
/// for <c>memory.oom_control</c>. The kernel signals it when the cgroup
/// enters OOM (before it kills) and also when the cgroup is removed; the
/// latter is told apart by <c>memory.oom_control</c> (held open) no longer
/// being readable, and stops the watch without an event.</item>
/// <item>cgroup v2: inotify on <c>memory.events</c>, which the kernel
/// touches on every counter change; an OOM is an increase of its
/// <c>oom_kill</c> counter (raised before the victim is signalled).</item>
/// </list>
/// <para>
/// Order: the kernel reports the OOM before the victim dies, so by the time
/// the victim is reaped the report is pending. <see cref="Flush"/> (called by
/// the exit routers before an exit is recorded) handles a pending report
/// under the same lock as the thread, so an OOM is published before the EXIT
/// of the process it killed, whichever of the two gets to it first.
/// </para>
/// </summary>
internal sealed unsafe class OomWatcher : IDisposable
{
    private readonly MemoryCgroup _cgroup;
    private readonly Action _publish;
    private readonly ILogger _logger;
    private readonly object _gate = new();
    private readonly CancelSignal _stop = new();
    // v1: the eventfd the kernel signals; v2: the inotify fd watching memory.events.
    private int _notifyFd = -1;
    // v1: memory.oom_control, held open: the registration names it, and a failed read means the cgroup is gone.
    private int _controlFd = -1;
    private long _oomKills;
    // Under _gate: the cgroup is gone or the watcher disposed; nothing more is published.
    private bool _done;
    private Thread? _thread;

    private OomWatcher(MemoryCgroup cgroup, Action publish, ILogger logger)
    {
        _cgroup = cgroup;
        _publish = publish;
        _logger = logger;
    }

    public MemoryCgroup Cgroup => _cgroup;

    /// <summary>Whether the thread still waits for reports (it ends when the cgroup is removed, or at Dispose).</summary>
    public bool IsWatching => _thread?.IsAlive == true;

    /// <summary>
    /// Watches the memory cgroup of <paramref name="pid"/>; null (after one
    /// warning) when it cannot: the task then works as before, without OOM events.
    /// </summary>
    public static OomWatcher? TryStart(int pid, Action publish, ILogger logger)
    {
        var cgroup = MemoryCgroup.Locate(pid, out var problem);
        if (cgroup is null)
        {
            logger.LogWarning("no OOM events for the container: cannot find the memory cgroup of its init {InitPid}: {Problem}", pid, problem);
            return null;
        }
        return TryStart(cgroup, publish, logger);
    }

    /// <summary>Watches <paramref name="cgroup"/>; null (after one warning) when it cannot.</summary>
    public static OomWatcher? TryStart(MemoryCgroup cgroup, Action publish, ILogger logger)
    {
        var watcher = new OomWatcher(cgroup, publish, logger);
        try
        {
            if (cgroup.Unified)
                watcher.RegisterUnified();
            else
                watcher.RegisterV1();
            watcher._oomKills = watcher.ReadOomKills() ?? 0;
            watcher._thread = new Thread(watcher.Run, 128 * 1024) { IsBackground = true, Name = "oom" };
            watcher._thread.Start();
        }
        catch (IOException e)
        {
            logger.LogWarning("no OOM events for the container: cannot watch {Cgroup}: {Error}", cgroup, e.Message);
            watcher.Dispose();
            return null;
        }
        logger.LogDebug("watching {Cgroup} for OOM", cgroup);
        return watcher;
    }

    /// <summary>Publishes an OOM the kernel has already reported but the thread has not handled yet.</summary>
    public void Flush()
    {
        lock (_gate)
        {
            if (!_done)
                Check();
        }
    }

    /// <summary>Stops the thread and closes every fd; the container's removal calls it.</summary>
    public void Dispose()
    {
        _stop.Signal();
        _thread?.Join();
        lock (_gate)
        {
            _done = true;
            Posix.CloseQuietly(ref _notifyFd);
            Posix.CloseQuietly(ref _controlFd);
        }
        _stop.Dispose();
    }

    private void RegisterV1()
    {
        _controlFd = OpenOrThrow(_cgroup.CounterFile, Libc.O_RDONLY);
        _notifyFd = Posix.EventFd(0, Posix.EFD_CLOEXEC | Posix.EFD_NONBLOCK);
        if (_notifyFd < 0)
            throw new IOException($"eventfd: {Libc.ErrorText(Libc.LastError)}");
        var controlPath = Path.Combine(_cgroup.Directory, "cgroup.event_control");
        var control = OpenOrThrow(controlPath, Libc.O_WRONLY);
        try
        {
            var line = Encoding.ASCII.GetBytes($"{_notifyFd} {_controlFd}");
            fixed (byte* p = line)
            {
                if (Libc.Write(control, p, line.Length) != line.Length)
                    throw new IOException($"cannot write {controlPath}: {Libc.ErrorText(Libc.LastError)}");
            }
        }
        finally
        {
            Libc.Close(control);
        }
    }

    private void RegisterUnified()
    {
        _notifyFd = Posix.InotifyInit1(Posix.IN_CLOEXEC | Posix.IN_NONBLOCK);
        if (_notifyFd < 0)
            throw new IOException($"inotify_init1: {Libc.ErrorText(Libc.LastError)}");
        if (Posix.InotifyAddWatch(_notifyFd, _cgroup.CounterFile, Posix.IN_MODIFY) < 0)
            throw new IOException($"cannot watch {_cgroup.CounterFile}: {Libc.ErrorText(Libc.LastError)}");
    }

    private void Run()
    {
        while (FdWait.Wait(_notifyFd, Libc.POLLIN, _stop.Fd) == FdWait.Result.Ready)
        {
            lock (_gate)
            {
                if (_done)
                    return;
                Check();
                if (_done)
                    return;
            }
        }
    }

    /// <summary>Under <see cref="_gate"/>: consumes what the kernel reported and publishes an OOM if it was one.</summary>
    private void Check()
    {
        if (!DrainNotifications())
            return;
        var kills = ReadOomKills();
        if (kills is null)
        {
            // memory.oom_control / memory.events unreadable: the cgroup was removed (runc delete).
            _done = true;
            _logger.LogDebug("{Cgroup} removed; no more OOM events", _cgroup);
            return;
        }
        var increased = kills.Value > _oomKills;
        _oomKills = Math.Max(_oomKills, kills.Value);
        // v2 reports every change of memory.events (high, max, ...): only a kill is an OOM. v1 reports
        // only OOMs, before the kill (so the counter may not have moved yet), and its counter may not
        // exist on an old kernel: a report while the cgroup exists is an OOM.
        if (_cgroup.Unified && !increased)
            return;
        _logger.LogWarning("the container ran out of memory ({Cgroup}, {OomKills} OOM kills so far)", _cgroup, kills.Value);
        _publish();
    }

    /// <summary>Reads what is pending on the notification fd; false when nothing was.</summary>
    private bool DrainNotifications()
    {
        var buffer = stackalloc byte[4096];
        var any = false;
        while (true)
        {
            var n = Libc.Read(_notifyFd, buffer, 4096);
            if (n > 0)
            {
                any = true;
                // An eventfd read takes its whole count at once; inotify may hold more than a buffer.
                if (!_cgroup.Unified)
                    return true;
                continue;
            }
            if (n < 0 && Libc.LastError == Libc.EINTR)
                continue;
            return any;
        }
    }

    /// <summary>The cgroup's oom_kill counter (0 when the kernel has none); null when the cgroup is gone.</summary>
    private long? ReadOomKills()
    {
        string text;
        if (_cgroup.Unified)
        {
            try
            {
                text = File.ReadAllText(_cgroup.CounterFile);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return null;
            }
        }
        else
        {
            // The fd the registration names: after rmdir its reads fail (ENODEV).
            var buffer = stackalloc byte[1024];
            var n = Posix.PRead(_controlFd, buffer, 1024, 0);
            if (n < 0 || !System.IO.Directory.Exists(_cgroup.Directory))
                return null;
            text = Encoding.ASCII.GetString(buffer, (int)n);
        }
        return MemoryCgroup.ReadCounter(text, "oom_kill") ?? 0;
    }

    private static int OpenOrThrow(string path, int flags)
    {
        var fd = Libc.Open(path, flags | Libc.O_CLOEXEC, 0);
        if (fd < 0)
            throw new IOException($"cannot open {path}: {Libc.ErrorText(Libc.LastError)}");
        return fd;
    }
}
