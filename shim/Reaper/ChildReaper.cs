using Containerd.Shared.Native;
using Containerd.Shim.Native;
using Microsoft.Extensions.Logging;

namespace Containerd.Shim.Reaper;

/// <summary>
/// The one place that reaps. A single thread blocks in waitpid(-1): as child
/// subreaper the shim inherits the container's init and every exec'd process
/// (runc double-forks them), and they must be reaped by the same code that
/// reaps runc itself, otherwise statuses get stolen or zombies pile up.
/// <para>
/// Interest in a pid is registered under the lock the reaper takes before it
/// hands out a status. runc children are spawned inside that lock, so their
/// exits can never be missed. Container processes are learned from pid files
/// only after they may already have exited; such exits are kept as
/// "unclaimed" for a while and handed to a late <see cref="Watch"/>.
/// </para>
/// </summary>
internal sealed class ChildReaper
{
    // Long enough for any pid-file read after runc returns; short enough that
    // orphans nobody asks about (runc's intermediate processes) do not pile up.
    private const long UnclaimedLifetimeMs = 60_000;
    private const int MaxUnclaimed = 4096;

    private readonly object _gate = new();
    private readonly Dictionary<int, TaskCompletionSource<ProcessExit>> _watchers = new();
    private readonly Dictionary<int, Unclaimed> _unclaimed = new();
    private readonly AutoResetEvent _spawned = new(false);
    private readonly ILogger _logger;
    private Thread? _thread;

    public ChildReaper(ILogger<ChildReaper> logger) => _logger = logger;

    public void Start()
    {
        _thread = new Thread(Run, 256 * 1024) { IsBackground = true, Name = "reaper" };
        _thread.Start();
    }

    /// <summary>
    /// Runs <paramref name="spawn"/> (which returns a pid) under the reaper's
    /// lock and returns the pid with a task that completes when it exits.
    /// </summary>
    public int Spawn(Func<int> spawn, out Task<ProcessExit> exit)
    {
        int pid;
        lock (_gate)
        {
            pid = spawn();
            exit = WatchLocked(pid, notBefore: long.MinValue);
        }
        _spawned.Set();
        return pid;
    }

    /// <summary>
    /// Watches a pid the shim did not spawn itself (a reparented container
    /// process). An unclaimed exit of that pid recorded before
    /// <paramref name="notBefore"/> (an <see cref="Environment.TickCount64"/>)
    /// belongs to an earlier process with the same pid and is ignored.
    /// </summary>
    public Task<ProcessExit> Watch(int pid, long notBefore)
    {
        lock (_gate)
            return WatchLocked(pid, notBefore);
    }

    private Task<ProcessExit> WatchLocked(int pid, long notBefore)
    {
        if (_unclaimed.Remove(pid, out var early) && early.Tick >= notBefore)
            return Task.FromResult(early.Exit);
        if (_watchers.TryGetValue(pid, out var existing))
            return existing.Task;
        var source = new TaskCompletionSource<ProcessExit>(TaskCreationOptions.RunContinuationsAsynchronously);
        _watchers.Add(pid, source);
        return source.Task;
    }

    private unsafe void Run()
    {
        while (true)
        {
            int status;
            var pid = Posix.WaitPid(-1, &status, 0);
            if (pid > 0)
            {
                Deliver(pid, new ProcessExit(Posix.DecodeWaitStatus(status), DateTime.UtcNow));
                continue;
            }

            var errno = Libc.LastError;
            if (errno == Libc.EINTR)
                continue;
            if (errno == Libc.ECHILD)
            {
                // No children: sleep until something is spawned. The timeout is
                // only a safety net; orphans can only appear while a child lives.
                _spawned.WaitOne(5000);
                continue;
            }
            _logger.LogError("waitpid failed: {Error}", Libc.ErrorText(errno));
            Thread.Sleep(100);
        }
    }

    private void Deliver(int pid, ProcessExit exit)
    {
        TaskCompletionSource<ProcessExit>? watcher;
        lock (_gate)
        {
            if (!_watchers.Remove(pid, out watcher))
            {
                PruneUnclaimedLocked();
                _unclaimed[pid] = new Unclaimed(exit, Environment.TickCount64);
            }
        }
        watcher?.TrySetResult(exit);
    }

    private void PruneUnclaimedLocked()
    {
        if (_unclaimed.Count == 0)
            return;
        var cutoff = Environment.TickCount64 - UnclaimedLifetimeMs;
        List<int>? stale = null;
        foreach (var (pid, entry) in _unclaimed)
        {
            if (entry.Tick < cutoff || _unclaimed.Count >= MaxUnclaimed)
                (stale ??= []).Add(pid);
        }
        if (stale is null)
            return;
        foreach (var pid in stale)
            _unclaimed.Remove(pid);
        if (_unclaimed.Count == 0)
            _unclaimed.TrimExcess();
    }

    private readonly record struct Unclaimed(ProcessExit Exit, long Tick);
}
