using System.Runtime.InteropServices;
using System.Text;
using Containerd.Daemon.Native;
using Microsoft.Extensions.Logging;

namespace Containerd.Daemon.Shims;

/// <summary>
/// One inotify instance and one thread, blocked in poll(2), for every followed
/// shim log: a <see cref="ShimLogFollower"/> reads its file only when the kernel
/// says it changed, so idle tasks cost no wake-ups at all (a timer per task
/// polled every 250 ms before). Each follower watches its bundle directory
/// (modify, create and rename-into events of its log's name, which also covers
/// the shim's rotation); a queue overflow wakes every follower. When inotify is
/// unavailable, <see cref="Watch"/> returns null and the follower polls.
/// </summary>
public sealed class ShimLogWatch : IDisposable
{
    private const uint Mask = Inotify.InModify | Inotify.InCloseWrite | Inotify.InCreate | Inotify.InMovedTo | Inotify.InOnlyDir;

    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly Dictionary<int, Registration> _watches = [];
    private int _inotify = -1;
    private int _wake = -1;
    private Thread? _thread;
    private volatile bool _stopping;

    public ShimLogWatch(ILogger<ShimLogWatch> logger) => _logger = logger;

    /// <summary>
    /// Calls <paramref name="changed"/> (on the watch thread) whenever the file
    /// named <paramref name="fileName"/> in <paramref name="directory"/> is
    /// written, created or renamed into place. Null when it cannot watch (the
    /// caller then polls); dispose the result to stop.
    /// </summary>
    public IDisposable? Watch(string directory, string fileName, Action changed)
    {
        lock (_gate)
        {
            if (_stopping || !EnsureStarted())
                return null;
            var wd = Inotify.AddWatch(_inotify, directory, Mask);
            if (wd < 0)
            {
                _logger.LogDebug("cannot watch {Directory}: {Error}", directory, Marshal.GetLastPInvokeErrorMessage());
                return null;
            }
            var registration = new Registration(this, wd, Encoding.UTF8.GetBytes(fileName), changed);
            _watches[wd] = registration;
            return registration;
        }
    }

    private void Unwatch(Registration registration)
    {
        lock (_gate)
        {
            if (!_watches.TryGetValue(registration.Wd, out var current) || !ReferenceEquals(current, registration))
                return;
            _watches.Remove(registration.Wd);
            if (_inotify >= 0)
                Inotify.RemoveWatch(_inotify, registration.Wd); // EINVAL when the directory already went: harmless
        }
    }

    private bool EnsureStarted()
    {
        if (_thread is not null)
            return true;
        _inotify = Inotify.Init(Inotify.InCloexec);
        if (_inotify < 0)
        {
            _logger.LogWarning("inotify unavailable ({Error}); shim logs are polled", Marshal.GetLastPInvokeErrorMessage());
            _stopping = true;
            return false;
        }
        _wake = Inotify.EventFd(0, Inotify.EfdCloexec);
        if (_wake < 0)
        {
            Inotify.Close(_inotify);
            _inotify = -1;
            _stopping = true;
            return false;
        }
        _thread = new Thread(Run) { IsBackground = true, Name = "shim log watch" };
        _thread.Start();
        return true;
    }

    private unsafe void Run()
    {
        var buffer = new byte[16 * 1024];
        var woken = new List<Registration>();
        var fds = stackalloc Inotify.PollFd[2];
        while (!_stopping)
        {
            fds[0] = new Inotify.PollFd { Fd = _inotify, Events = Inotify.PollIn };
            fds[1] = new Inotify.PollFd { Fd = _wake, Events = Inotify.PollIn };
            if (Inotify.Poll(fds, 2, -1) < 0)
            {
                if (Marshal.GetLastPInvokeError() == Inotify.EINTR)
                    continue;
                _logger.LogError("shim log watch stopped: poll: {Error}", Marshal.GetLastPInvokeErrorMessage());
                return;
            }
            if (_stopping || fds[1].Revents != 0)
                return;
            if ((fds[0].Revents & Inotify.PollIn) == 0)
                continue;
            nint n;
            fixed (byte* p = buffer)
                n = Inotify.Read(_inotify, p, (nuint)buffer.Length);
            if (n <= 0)
                continue;
            woken.Clear();
            var overflow = false;
            lock (_gate)
            {
                for (var offset = 0; offset + Inotify.EventHeaderSize <= n;)
                {
                    var wd = BitConverter.ToInt32(buffer, offset);
                    var mask = BitConverter.ToUInt32(buffer, offset + 4);
                    var length = (int)BitConverter.ToUInt32(buffer, offset + 12);
                    var name = buffer.AsSpan(offset + Inotify.EventHeaderSize, length);
                    offset += Inotify.EventHeaderSize + length;
                    if ((mask & Inotify.InQueueOverflow) != 0)
                    {
                        overflow = true;
                        continue;
                    }
                    if ((mask & Inotify.InIgnored) != 0 || !_watches.TryGetValue(wd, out var registration))
                        continue;
                    var end = name.IndexOf((byte)0);
                    if (end >= 0)
                        name = name[..end];
                    if (name.SequenceEqual(registration.FileName) && !woken.Contains(registration))
                        woken.Add(registration);
                }
                if (overflow)
                {
                    woken.Clear();
                    woken.AddRange(_watches.Values);
                }
            }
            foreach (var registration in woken)
            {
                try
                {
                    registration.Changed();
                }
                catch (Exception e)
                {
                    _logger.LogError("shim log follower failed: {Error}", e.Message);
                }
            }
        }
    }

    public unsafe void Dispose()
    {
        Thread? thread;
        lock (_gate)
        {
            _stopping = true;
            thread = _thread;
            _watches.Clear();
            if (_wake >= 0)
            {
                ulong one = 1;
                Inotify.Write(_wake, (byte*)&one, sizeof(ulong));
            }
        }
        thread?.Join(TimeSpan.FromSeconds(2));
        lock (_gate)
        {
            if (_inotify >= 0)
                Inotify.Close(_inotify);
            if (_wake >= 0)
                Inotify.Close(_wake);
            _inotify = _wake = -1;
        }
    }

    private sealed class Registration(ShimLogWatch owner, int wd, byte[] fileName, Action changed) : IDisposable
    {
        public int Wd { get; } = wd;

        public byte[] FileName { get; } = fileName;

        public Action Changed { get; } = changed;

        public void Dispose() => owner.Unwatch(this);
    }
}
