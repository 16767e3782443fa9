namespace Containerd.Shim.Reaper;

/// <summary>
/// The reaper's bookkeeping: who waits for which pid, and the exits nobody
/// waited for yet. <see cref="ChildReaper"/>'s waitpid(-1) thread feeds it;
/// it is a class of its own so that it can be tested in a process that must
/// not reap (a waitpid(-1) loop next to System.Diagnostics.Process aborts the
/// runtime).
/// <para>
/// Interest in a pid is registered under the lock <see cref="Deliver"/> takes
/// before it hands out a status. runc children are spawned inside that lock
/// (<see cref="Spawn"/>), so their exits can never be missed. Container
/// processes are learned from pid files only after they may already have
/// exited; such exits are kept as "unclaimed" for a while and handed to a late
/// <see cref="Watch"/>.
/// </para>
/// </summary>
internal sealed class ExitTable
{
    // Long enough for any pid-file read after runc returns; short enough that
    // orphans nobody asks about (runc's intermediate processes) do not pile up.
    public const long UnclaimedLifetimeMs = 60_000;
    public const int MaxUnclaimed = 4096;

    private readonly object _gate = new();
    private readonly Dictionary<int, TaskCompletionSource<ProcessExit>> _watchers = new();
    private readonly Dictionary<int, Unclaimed> _unclaimed = new();
    private readonly Func<long> _clock;

    /// <param name="clock">
    /// Milliseconds on the clock callers' notBefore values come from;
    /// <see cref="Environment.TickCount64"/> unless a test drives time.
    /// </param>
    public ExitTable(Func<long>? clock = null) => _clock = clock ?? (static () => Environment.TickCount64);

    /// <summary>
    /// Runs <paramref name="spawn"/> (which returns a pid) under the lock and
    /// returns the pid with a task that completes when it exits.
    /// </summary>
    public int Spawn(Func<int> spawn, out Task<ProcessExit> exit)
    {
        lock (_gate)
        {
            var pid = spawn();
            // The child cannot have been delivered yet (Deliver waits for this
            // lock), so an unclaimed exit of its pid is an earlier process's
            // whose pid the kernel has reused: drop it, never hand it out.
            exit = WatchLocked(pid, notBefore: long.MaxValue);
            return pid;
        }
    }

    /// <summary>
    /// Watches a pid the shim did not spawn itself (a reparented container
    /// process). An unclaimed exit of that pid recorded before
    /// <paramref name="notBefore"/> (a reading of the clock) belongs to an
    /// earlier process with the same pid and is ignored.
    /// </summary>
    public Task<ProcessExit> Watch(int pid, long notBefore)
    {
        lock (_gate)
            return WatchLocked(pid, notBefore);
    }

    /// <summary>Hands a reaped child's exit to its watcher, or keeps it as unclaimed.</summary>
    public void Deliver(int pid, ProcessExit exit)
    {
        TaskCompletionSource<ProcessExit>? watcher;
        lock (_gate)
        {
            if (!_watchers.Remove(pid, out watcher))
            {
                PruneUnclaimedLocked();
                _unclaimed[pid] = new Unclaimed(exit, _clock());
            }
        }
        // Outside the lock: continuations run asynchronously anyway, but the
        // reaper thread should not hold the lock longer than the bookkeeping.
        watcher?.TrySetResult(exit);
    }

    internal int UnclaimedCount
    {
        get
        {
            lock (_gate)
                return _unclaimed.Count;
        }
    }

    internal int WatcherCount
    {
        get
        {
            lock (_gate)
                return _watchers.Count;
        }
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

    private void PruneUnclaimedLocked()
    {
        if (_unclaimed.Count == 0)
            return;
        var cutoff = _clock() - UnclaimedLifetimeMs;
        List<int>? stale = null;
        foreach (var (pid, entry) in _unclaimed)
        {
            if (entry.Tick < cutoff)
                (stale ??= []).Add(pid);
        }
        if (stale is not null)
        {
            foreach (var pid in stale)
                _unclaimed.Remove(pid);
        }
        // Full of fresh entries: make room by dropping the oldest only. Dropping
        // them all would lose an exit a Watch is about to claim (a container
        // process that died before its pid file was read), and its task would
        // never report the exit.
        while (_unclaimed.Count >= MaxUnclaimed)
            _unclaimed.Remove(OldestUnclaimedLocked());
        if (_unclaimed.Count == 0)
            _unclaimed.TrimExcess();
    }

    private int OldestUnclaimedLocked()
    {
        int? oldestPid = null;
        var oldestTick = 0L;
        foreach (var (pid, entry) in _unclaimed)
        {
            if (oldestPid is null || entry.Tick < oldestTick)
                (oldestPid, oldestTick) = (pid, entry.Tick);
        }
        return oldestPid ?? throw new InvalidOperationException("no unclaimed exit to drop");
    }

    private readonly record struct Unclaimed(ProcessExit Exit, long Tick);
}
