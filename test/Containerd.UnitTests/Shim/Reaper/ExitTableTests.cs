using Containerd.Shim.Reaper;

namespace Containerd.UnitTests.Shim.Reaper;

/// <summary>
/// The reaper's bookkeeping, fed by hand instead of by waitpid(-1): a real
/// reaper inside the test host would steal the statuses of the runtime's own
/// children and abort it.
/// </summary>
public sealed class ExitTableTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private ManualClock _clock = null!;
    private ExitTable _table = null!;

    [SetUp]
    public void CreateTable()
    {
        // Far from zero so "before" and "after" readings are both ordinary ticks.
        _clock = new ManualClock(1_000_000);
        _table = new ExitTable(_clock.Read);
    }

    private static ProcessExit Exit(int status) => new(status, new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc).AddSeconds(status));

    [Test]
    public async Task A_watched_pid_gets_the_exit_delivered_for_it()
    {
        var watched = _table.Watch(100, _clock.Now);
        Assert.That(watched.IsCompleted, Is.False);

        _table.Deliver(100, Exit(3));

        Assert.That(await watched.WaitAsync(Timeout), Is.EqualTo(Exit(3)));
        Assert.That(_table.WatcherCount, Is.Zero);
        Assert.That(_table.UnclaimedCount, Is.Zero, "a claimed exit is not also kept");
    }

    [Test]
    public void An_exit_of_another_pid_does_not_complete_a_watch()
    {
        var watched = _table.Watch(100, _clock.Now);

        _table.Deliver(101, Exit(0));

        Assert.That(watched.IsCompleted, Is.False);
        Assert.That(_table.UnclaimedCount, Is.EqualTo(1));
    }

    [Test]
    public void Watching_a_pid_twice_shares_one_exit()
    {
        var first = _table.Watch(100, _clock.Now);
        var second = _table.Watch(100, _clock.Now);

        Assert.That(second, Is.SameAs(first));
        Assert.That(_table.WatcherCount, Is.EqualTo(1));
    }

    [Test]
    public void An_exit_reaped_before_anyone_watched_is_handed_to_a_late_watch()
    {
        var notBefore = _clock.Now;
        _clock.Advance(5);
        _table.Deliver(100, Exit(7));
        Assert.That(_table.UnclaimedCount, Is.EqualTo(1));

        _clock.Advance(5);
        var watched = _table.Watch(100, notBefore);

        Assert.That(watched.IsCompletedSuccessfully, Is.True, "an early exit completes the watch at once");
        Assert.That(watched.Result, Is.EqualTo(Exit(7)));
        Assert.That(_table.UnclaimedCount, Is.Zero);
        Assert.That(_table.WatcherCount, Is.Zero);
    }

    [Test]
    public void An_unclaimed_exit_recorded_in_the_same_tick_as_notBefore_is_claimed()
    {
        _table.Deliver(100, Exit(7));

        var watched = _table.Watch(100, notBefore: _clock.Now);

        Assert.That(watched.IsCompletedSuccessfully, Is.True);
    }

    [Test]
    public void An_unclaimed_exit_is_handed_out_only_once()
    {
        _table.Deliver(100, Exit(7));
        var first = _table.Watch(100, long.MinValue);

        var second = _table.Watch(100, long.MinValue);

        Assert.That(first.IsCompletedSuccessfully, Is.True);
        Assert.That(second.IsCompleted, Is.False, "the second watch waits for the next process with that pid");
    }

    [Test]
    public async Task An_unclaimed_exit_recorded_before_notBefore_is_of_an_earlier_process_and_ignored()
    {
        // The pid's previous owner exited and was reaped; the kernel then gave
        // the pid to the container process the shim now learns from a pid file.
        _table.Deliver(100, Exit(1));
        _clock.Advance(1);
        var notBefore = _clock.Now;

        var watched = _table.Watch(100, notBefore);

        Assert.That(watched.IsCompleted, Is.False, "the earlier process's exit must not be taken for this one's");
        Assert.That(_table.UnclaimedCount, Is.Zero, "the stale exit is dropped, not kept for someone else");

        _table.Deliver(100, Exit(2));
        Assert.That(await watched.WaitAsync(Timeout), Is.EqualTo(Exit(2)));
    }

    [Test]
    public async Task A_watch_completes_once_and_a_later_exit_of_the_same_pid_is_unclaimed()
    {
        var watched = _table.Watch(100, _clock.Now);
        _table.Deliver(100, Exit(1));
        _table.Deliver(100, Exit(2));

        Assert.That(await watched.WaitAsync(Timeout), Is.EqualTo(Exit(1)));
        Assert.That(_table.UnclaimedCount, Is.EqualTo(1));
        Assert.That(_table.Watch(100, long.MinValue).Result, Is.EqualTo(Exit(2)));
    }

    [Test]
    public void A_newer_unclaimed_exit_of_a_pid_replaces_the_older_one()
    {
        _table.Deliver(100, Exit(1));
        _clock.Advance(1);
        _table.Deliver(100, Exit(2));

        Assert.That(_table.UnclaimedCount, Is.EqualTo(1));
        Assert.That(_table.Watch(100, long.MinValue).Result, Is.EqualTo(Exit(2)));
    }

    [Test]
    public void Unclaimed_exits_older_than_their_lifetime_are_pruned_when_the_next_exit_goes_unclaimed()
    {
        _table.Deliver(100, Exit(1));
        _clock.Advance(ExitTable.UnclaimedLifetimeMs + 1);

        _table.Deliver(101, Exit(2));

        Assert.That(_table.UnclaimedCount, Is.EqualTo(1));
        Assert.That(_table.Watch(100, long.MinValue).IsCompleted, Is.False, "the expired exit is gone");
        Assert.That(_table.Watch(101, long.MinValue).IsCompletedSuccessfully, Is.True);
    }

    [Test]
    public void An_unclaimed_exit_exactly_its_lifetime_old_is_still_kept()
    {
        _table.Deliver(100, Exit(1));
        _clock.Advance(ExitTable.UnclaimedLifetimeMs);

        _table.Deliver(101, Exit(2));

        Assert.That(_table.UnclaimedCount, Is.EqualTo(2));
        Assert.That(_table.Watch(100, long.MinValue).IsCompletedSuccessfully, Is.True);
    }

    [Test]
    public void Expiry_is_lazy_so_an_old_unclaimed_exit_stays_claimable_until_the_next_unclaimed_exit()
    {
        // Pruning runs only when the reaper records an unclaimed exit: a shim
        // that goes quiet keeps its few entries, which costs nothing.
        _table.Deliver(100, Exit(1));
        _clock.Advance(10 * ExitTable.UnclaimedLifetimeMs);

        Assert.That(_table.Watch(100, long.MinValue).IsCompletedSuccessfully, Is.True);
    }

    [Test]
    public void Delivering_to_a_watcher_does_not_prune()
    {
        _table.Deliver(100, Exit(1));
        var watched = _table.Watch(101, _clock.Now);
        _clock.Advance(ExitTable.UnclaimedLifetimeMs + 1);

        _table.Deliver(101, Exit(2));

        Assert.That(watched.IsCompletedSuccessfully, Is.True);
        Assert.That(_table.UnclaimedCount, Is.EqualTo(1));
    }

    [Test]
    public void Unclaimed_exits_never_exceed_the_cap_and_the_newest_is_kept()
    {
        for (var pid = 1; pid <= ExitTable.MaxUnclaimed; pid++)
            _table.Deliver(pid, Exit(pid));
        Assert.That(_table.UnclaimedCount, Is.EqualTo(ExitTable.MaxUnclaimed));

        var newest = ExitTable.MaxUnclaimed + 1;
        _table.Deliver(newest, Exit(newest));

        Assert.That(_table.UnclaimedCount, Is.LessThanOrEqualTo(ExitTable.MaxUnclaimed));
        Assert.That(_table.Watch(newest, long.MinValue).Result, Is.EqualTo(Exit(newest)));
    }

    [Test]
    public void A_full_table_drops_only_its_oldest_unclaimed_exit()
    {
        // Among the fresh entries may be a container process's exit whose pid
        // file is being read right now: it must survive a burst of orphans.
        for (var pid = 1; pid <= ExitTable.MaxUnclaimed; pid++)
        {
            _table.Deliver(pid, Exit(pid));
            _clock.Advance(1);
        }

        _table.Deliver(ExitTable.MaxUnclaimed + 1, Exit(0));

        Assert.That(_table.UnclaimedCount, Is.EqualTo(ExitTable.MaxUnclaimed));
        Assert.That(_table.Watch(1, long.MinValue).IsCompleted, Is.False, "the oldest went");
        Assert.That(_table.Watch(2, long.MinValue).Result, Is.EqualTo(Exit(2)), "the next oldest stayed");
        Assert.That(_table.Watch(ExitTable.MaxUnclaimed, long.MinValue).Result, Is.EqualTo(Exit(ExitTable.MaxUnclaimed)));
    }

    [Test]
    public void A_full_table_drops_expired_exits_before_any_fresh_one()
    {
        _table.Deliver(1, Exit(1));
        _table.Deliver(2, Exit(2));
        _clock.Advance(ExitTable.UnclaimedLifetimeMs + 1);
        for (var pid = 3; pid <= ExitTable.MaxUnclaimed; pid++)
            _table.Deliver(pid, Exit(pid));

        _table.Deliver(ExitTable.MaxUnclaimed + 1, Exit(0));

        Assert.That(_table.UnclaimedCount, Is.EqualTo(ExitTable.MaxUnclaimed - 1), "the two expired ones went, nothing else");
        Assert.That(_table.Watch(3, long.MinValue).IsCompletedSuccessfully, Is.True);
    }

    [Test]
    public async Task A_spawned_pid_is_watched_from_the_start()
    {
        var pid = _table.Spawn(() => 100, out var exited);

        Assert.That(pid, Is.EqualTo(100));
        Assert.That(exited.IsCompleted, Is.False);
        Assert.That(_table.WatcherCount, Is.EqualTo(1));

        _table.Deliver(100, Exit(0));
        Assert.That(await exited.WaitAsync(Timeout), Is.EqualTo(Exit(0)));
    }

    [Test]
    public async Task A_spawned_pid_never_takes_an_earlier_processs_unclaimed_exit()
    {
        // pid_max is often 32768: a runc child can get the pid of an orphan
        // reaped seconds ago. Its exit is not the child's, which has not been
        // delivered yet (Deliver waits for the lock Spawn holds).
        _table.Deliver(100, Exit(1));

        _table.Spawn(() => 100, out var exited);

        Assert.That(exited.IsCompleted, Is.False);
        Assert.That(_table.UnclaimedCount, Is.Zero);
        _table.Deliver(100, Exit(2));
        Assert.That(await exited.WaitAsync(Timeout), Is.EqualTo(Exit(2)));
    }

    [Test]
    public async Task Spawn_runs_under_the_lock_so_an_exit_reaped_meanwhile_waits_for_the_registration()
    {
        // The reaper may collect a child the moment it is forked, before Spawn
        // has registered it: Deliver must wait for the lock Spawn holds.
        Task? delivering = null;
        var pid = _table.Spawn(() =>
        {
            delivering = Task.Factory.StartNew(() => _table.Deliver(100, Exit(9)),
                CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            Assert.That(delivering.Wait(TimeSpan.FromMilliseconds(100)), Is.False,
                "Deliver got through while the spawn was still running");
            return 100;
        }, out var exited);

        await delivering!.WaitAsync(Timeout);
        Assert.That(pid, Is.EqualTo(100));
        Assert.That(await exited.WaitAsync(Timeout), Is.EqualTo(Exit(9)));
        Assert.That(_table.UnclaimedCount, Is.Zero);
        Assert.That(_table.WatcherCount, Is.Zero);
    }

    [Test]
    public void A_spawn_that_throws_registers_nothing_and_releases_the_lock()
    {
        Assert.Throws<InvalidOperationException>(() =>
            _table.Spawn(() => throw new InvalidOperationException("fork failed"), out _));

        Assert.That(_table.WatcherCount, Is.Zero);
        _table.Deliver(100, Exit(0));
        Assert.That(_table.UnclaimedCount, Is.EqualTo(1));
    }

    [Test]
    public async Task Every_exit_reaches_its_watcher_whichever_of_watch_and_deliver_comes_first()
    {
        const int Pids = 2000;
        var watches = new Task<ProcessExit>[Pids];
        var watching = Task.Run(() => Parallel.For(0, Pids, i => watches[i] = _table.Watch(i + 1, long.MinValue)));
        var delivering = Task.Run(() => Parallel.For(0, Pids, i => _table.Deliver(i + 1, Exit(i + 1))));
        await Task.WhenAll(watching, delivering).WaitAsync(Timeout);

        var exits = await Task.WhenAll(watches).WaitAsync(Timeout);

        Assert.That(exits, Is.EqualTo(Enumerable.Range(1, Pids).Select(Exit).ToArray()));
        Assert.That(_table.UnclaimedCount, Is.Zero);
        Assert.That(_table.WatcherCount, Is.Zero);
    }
}
