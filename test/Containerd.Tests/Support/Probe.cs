using System.Globalization;
using Containerd.Shared.Native;

namespace Containerd.Tests.Support;

/// <summary>Looks at processes and a daemon's state directory from outside, as the restart tests need.</summary>
public static class Probe
{
    /// <summary>True while <paramref name="pid"/> exists and is not a zombie.</summary>
    public static bool IsAlive(uint pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[stat.LastIndexOf(')') + 2] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>
    /// True once no process has <paramref name="pid"/> at all (kill(2) says ESRCH): exited
    /// and reaped, not even a zombie.
    /// </summary>
    public static bool IsGone(uint pid) => Libc.Kill((int)pid, 0) != 0 && Libc.LastError == Libc.ESRCH;

    /// <summary>"gone", "alive (STATE) under PPID" or "a zombie of PPID", for failure messages.</summary>
    public static string Describe(uint pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return "gone";
        }
        var rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return rest[0] == "Z" ? $"a zombie of {rest[1]}" : $"alive ({rest[0]}) under {rest[1]}";
    }

    /// <summary>Awaits the exit of <paramref name="pid"/> (see <see cref="ProcessExit"/>); fails the test, naming <paramref name="what"/>, after 30 s.</summary>
    public static async Task ExitOfAsync(int pid, string what, CancellationToken cancellationToken = default)
    {
        if (!await ProcessExit.WaitAsync(pid, TimeSpan.FromSeconds(30), cancellationToken))
            throw new TimeoutException($"waited 30 s in vain for {what} (pid {pid}) to exit");
    }

    /// <summary>The last event sequence the daemon recorded for a task (BUNDLE/events.seq), 0 when none.</summary>
    public static ulong PersistedEventSequence(DaemonProcess daemon, string ns, string id)
    {
        try
        {
            var text = File.ReadAllText(Path.Combine(daemon.StateDir, "tasks", ns, id, "events.seq")).Trim();
            return ulong.Parse(text, CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return 0;
        }
    }

    /// <summary>
    /// Waits until the daemon has recorded, for each task, as many events as the recorder saw
    /// for it (a shim numbers its events from 1, and the daemon publishes every one): what was
    /// seen is then also on disk, so a daemon killed now does not publish it again.
    /// </summary>
    public static async Task WaitForPersistedAsync(DaemonProcess daemon, string ns, EventRecorder events, params string[] ids)
    {
        foreach (var id in ids)
        {
            var seen = (ulong)events.Events.Count(e => e.Id == id);
            await UntilPersistedAsync(daemon, ns, id, seen);
        }
    }

    /// <summary>Waits until BUNDLE/events.seq of a task reads at least <paramref name="sequence"/>, woken by each write to the bundle.</summary>
    public static Task UntilPersistedAsync(DaemonProcess daemon, string ns, string id, ulong sequence, CancellationToken cancellationToken = default) =>
        UntilChangedAsync(Path.Combine(daemon.StateDir, "tasks", ns, id), () => PersistedEventSequence(daemon, ns, id) >= sequence,
            $"events.seq of {id} to reach {sequence}", cancellationToken);

    /// <summary>
    /// Waits until <paramref name="condition"/> holds, looking again each time something in
    /// <paramref name="dir"/> changes (inotify, through FileSystemWatcher) rather than on a timer; fails after 30 s.
    /// </summary>
    public static async Task UntilChangedAsync(string dir, Func<bool> condition, string what, CancellationToken cancellationToken = default)
    {
        var gate = new object();
        var changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var watcher = new FileSystemWatcher(dir) { NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size };
        void Wake()
        {
            lock (gate)
                changed.TrySetResult();
        }
        watcher.Created += (_, _) => Wake();
        watcher.Changed += (_, _) => Wake();
        watcher.Renamed += (_, _) => Wake();
        watcher.Deleted += (_, _) => Wake();
        // A lost inotify queue (overflow) only means: look again.
        watcher.Error += (_, _) => Wake();
        watcher.EnableRaisingEvents = true;

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            Task next;
            // Armed before the look, so a change between the look and the wait still wakes it.
            lock (gate)
            {
                changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                next = changed.Task;
            }
            if (condition())
                return;
            var left = deadline - DateTime.UtcNow;
            try
            {
                await next.WaitAsync(left > TimeSpan.Zero ? left : TimeSpan.Zero, cancellationToken);
            }
            catch (TimeoutException)
            {
                throw new TimeoutException($"waited 30 s in vain for {what}");
            }
        }
    }

    /// <summary>The pid of the shim serving a task (found by its command line).</summary>
    public static int ShimPid(DaemonProcess daemon, string ns, string id)
    {
        var bundle = Path.Combine(daemon.StateDir, "tasks", ns, id);
        return Leaks.ShimPids(daemon.Dir, ns).Single(s => s.CommandLine.Contains($"--bundle {bundle} ", StringComparison.Ordinal)).Pid;
    }

    public static async Task UntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"waited in vain for {what}");
            await Task.Delay(20);
        }
    }
}
