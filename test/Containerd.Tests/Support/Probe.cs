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
            await UntilAsync(() => PersistedEventSequence(daemon, ns, id) >= seen, $"events.seq of {id} to reach {seen}");
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
