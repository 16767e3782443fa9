using Containerd.Shim.Oom;
using Microsoft.Extensions.Logging.Abstractions;

namespace Containerd.UnitTests.Shim.Oom;

/// <summary>
/// The watcher on a real cgroup v1 memory cgroup of the test's own (no runc):
/// an OOM kill is reported, the cgroup's removal is not, and nothing is left open.
/// Skipped where the memory controller is not on cgroup v1 or not writable.
/// </summary>
public sealed class OomWatcherTests
{
    private const string V1Root = "/sys/fs/cgroup/memory";
    private const long Limit = 16L << 20;

    private string _dir = "";

    [SetUp]
    public void MakeCgroup()
    {
        if (!File.Exists(Path.Combine(V1Root, "cgroup.event_control")))
            Assert.Ignore("no cgroup v1 memory hierarchy at " + V1Root);
        _dir = Path.Combine(V1Root, "ctd-oom-test-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            Directory.CreateDirectory(_dir);
        }
        catch (UnauthorizedAccessException)
        {
            Assert.Ignore("cannot create a memory cgroup (not root?)");
        }
        File.WriteAllText(Path.Combine(_dir, "memory.limit_in_bytes"), Limit.ToString());
        // Without swap accounting capped as well the kernel could swap instead of killing.
        var memsw = Path.Combine(_dir, "memory.memsw.limit_in_bytes");
        if (File.Exists(memsw))
            File.WriteAllText(memsw, Limit.ToString());
    }

    [TearDown]
    public void RemoveCgroup()
    {
        if (_dir.Length > 0 && Directory.Exists(_dir))
            Directory.Delete(_dir);
    }

    [Test]
    public void An_oom_kill_is_published_once_and_the_cgroups_removal_stops_the_watch_quietly()
    {
        var before = WatcherFds();
        var published = 0;
        var watcher = OomWatcher.TryStart(new MemoryCgroup(_dir, unified: false), () => Interlocked.Increment(ref published), NullLogger.Instance);
        Assert.That(watcher, Is.Not.Null);
        try
        {
            Assert.That(WatcherFds(), Has.Count.EqualTo(before.Count + 3), "the eventfd, memory.oom_control and the stop signal");

            // The shell moves itself into the cgroup, then becomes dd, whose 64 MiB buffer cannot fit.
            using var hog = System.Diagnostics.Process.Start("/bin/sh", ["-c", $"echo $$ > {_dir}/cgroup.procs && exec dd if=/dev/zero of=/dev/null bs=64M count=1"])!;
            hog.WaitForExit();
            Assert.That(hog.ExitCode, Is.EqualTo(137), "dd was not killed by the OOM killer");
            // What the exit router does before it records an exit: the OOM is already reported.
            watcher!.Flush();
            Assert.That(Volatile.Read(ref published), Is.EqualTo(1));

            Directory.Delete(_dir);
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (watcher.IsWatching && DateTime.UtcNow < deadline)
                Thread.Sleep(20);
            Assert.That(watcher.IsWatching, Is.False, "the cgroup's removal did not end the watch");
            Assert.That(Volatile.Read(ref published), Is.EqualTo(1), "the cgroup's removal was published as an OOM");
        }
        finally
        {
            watcher?.Dispose();
        }
        Assert.That(WatcherFds(), Is.EqualTo(before));
    }

    [Test]
    public void Dispose_stops_a_quiet_watch_and_closes_its_fds()
    {
        var before = WatcherFds();
        var published = 0;
        var watcher = OomWatcher.TryStart(new MemoryCgroup(_dir, unified: false), () => Interlocked.Increment(ref published), NullLogger.Instance)!;
        Assert.That(watcher.IsWatching, Is.True);
        watcher.Dispose();
        Assert.That(watcher.IsWatching, Is.False);
        Assert.That(WatcherFds(), Is.EqualTo(before));
        Assert.That(published, Is.Zero);
    }

    [Test]
    public void A_cgroup_that_cannot_be_watched_gives_no_watcher_and_leaks_nothing()
    {
        var before = WatcherFds();
        var watcher = OomWatcher.TryStart(new MemoryCgroup(Path.Combine(_dir, "missing"), unified: false), () => { }, NullLogger.Instance);
        Assert.That(watcher, Is.Null);
        Assert.That(WatcherFds(), Is.EqualTo(before));
    }

    [Test]
    public void Under_cgroup_v2_only_an_increase_of_oom_kill_is_published_and_the_files_removal_ends_the_watch()
    {
        // inotify sees a regular file's writes as it sees the kernel's touches of memory.events.
        var dir = Directory.CreateTempSubdirectory("ctd-oom-v2-").FullName;
        var events = Path.Combine(dir, "memory.events");
        File.WriteAllText(events, "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n");
        var published = 0;
        var watcher = OomWatcher.TryStart(new MemoryCgroup(dir, unified: true), () => Interlocked.Increment(ref published), NullLogger.Instance)!;
        try
        {
            Assert.That(watcher, Is.Not.Null);
            File.WriteAllText(events, "low 0\nhigh 0\nmax 3\noom 0\noom_kill 0\n");
            watcher.Flush();
            Assert.That(Volatile.Read(ref published), Is.Zero, "max moved, no kill");
            File.WriteAllText(events, "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n");
            watcher.Flush();
            Assert.That(Volatile.Read(ref published), Is.EqualTo(1));

            File.Delete(events);
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (watcher.IsWatching && DateTime.UtcNow < deadline)
                Thread.Sleep(20);
            Assert.That(watcher.IsWatching, Is.False, "the file's removal did not end the watch");
            Assert.That(Volatile.Read(ref published), Is.EqualTo(1));
        }
        finally
        {
            watcher.Dispose();
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>This process's fds that are eventfds, inotify instances or files of the test's cgroup.</summary>
    private List<string> WatcherFds() =>
        Directory.EnumerateFiles("/proc/self/fd")
            .Select(fd => new FileInfo(fd).LinkTarget ?? "")
            .Where(target => target.Contains("eventfd", StringComparison.Ordinal) || target.Contains("inotify", StringComparison.Ordinal)
                || target.StartsWith(_dir, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToList();
}
