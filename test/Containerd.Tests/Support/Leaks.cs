using System.Diagnostics;
using Containerd.Shared.Native;

namespace Containerd.Tests.Support;

/// <summary>
/// What a test may leave behind and must not: shims, container processes, mounts, FIFOs,
/// sockets, bundles, runc state, zombies. Everything is looked up under the daemon's own
/// directory, so fixtures running side by side do not see each other's work.
/// </summary>
public static class Leaks
{
    public static IReadOnlyList<string> Find(DaemonProcess daemon, string? ns = null)
    {
        var found = new List<string>();
        var scope = ns is null ? daemon.StateDir : Path.Combine(daemon.StateDir, "tasks", ns);

        foreach (var shim in ShimPids(daemon.Dir, ns))
            found.Add($"shim process {shim.Pid}: {shim.CommandLine}");

        foreach (var mount in MountsUnder(daemon.Dir))
            found.Add($"mount at {mount}");

        var tasksDir = Path.Combine(daemon.StateDir, "tasks");
        if (Directory.Exists(scope))
        {
            foreach (var bundle in Directory.EnumerateDirectories(scope, "*", ns is null ? SearchOption.AllDirectories : SearchOption.TopDirectoryOnly))
            {
                if (ns is null && Path.GetDirectoryName(Path.GetDirectoryName(bundle)) != tasksDir)
                    continue;
                found.Add($"bundle directory {bundle}");
            }
        }

        foreach (var file in FilesUnder(daemon.StateDir).Where(f => f.EndsWith(".sock", StringComparison.Ordinal) || IsFifo(f)))
            found.Add($"socket or fifo {file}");

        foreach (var container in RuncContainers(daemon, ns))
            found.Add($"runc container {container}");

        foreach (var zombie in Zombies(daemon))
            found.Add($"zombie {zombie}");

        return found;
    }

    public static async Task AssertNoneAsync(DaemonProcess daemon, string? ns = null, CancellationToken cancellationToken = default)
    {
        var leaks = await WaitForNoneAsync(daemon, ns, cancellationToken);
        Assert.That(leaks, Is.Empty, "left behind:\n" + string.Join("\n", leaks));
    }

    /// <summary>
    /// Shims exit just after Delete returns: awaits each remaining shim's exit (one bounded wait
    /// per pid) before calling anything a leak, all within one overall deadline.
    /// </summary>
    public static async Task<IReadOnlyList<string>> WaitForNoneAsync(DaemonProcess daemon, string? ns = null, CancellationToken cancellationToken = default)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            var leaks = Find(daemon, ns);
            var left = deadline - DateTime.UtcNow;
            if (leaks.Count == 0 || left <= TimeSpan.Zero)
                return leaks;
            var shims = ShimPids(daemon.Dir, ns).Select(s => s.Pid).ToList();
            if (shims.Count > 0)
            {
                await ProcessExit.WaitAllAsync(shims, left, cancellationToken);
                continue;
            }
            // An exited shim is a zombie until the daemon reaps it: that, too, can be awaited.
            var zombies = ZombiePids(daemon).ToList();
            if (zombies.Count > 0)
            {
                await Task.WhenAll(zombies.Select(pid => ProcessExit.WaitGoneAsync(pid, left, cancellationToken)));
                continue;
            }
            // What remains is what a shim's exit leaves for the daemon to finish (its socket, its
            // bundle): nothing signals that to an outsider, so look again shortly, within the deadline.
            await Task.Delay(TimeSpan.FromMilliseconds(50), cancellationToken);
        }
    }

    /// <summary>
    /// Kills and unmounts whatever a failed test left, so one failure does not spoil the next
    /// test. Returns what it could not clean up, with the tools' own words, for the failure message.
    /// </summary>
    public static IReadOnlyList<string> ForceCleanup(DaemonProcess daemon)
    {
        var problems = new List<string>();
        foreach (var shim in ShimPids(daemon.Dir, null))
        {
            if (Libc.Kill(shim.Pid, 9) != 0 && Libc.LastError != Libc.ESRCH)
                problems.Add($"kill -9 shim {shim.Pid}: {Libc.ErrorText(Libc.LastError)}");
        }
        var runcRoot = Path.Combine(daemon.StateDir, "runc");
        if (Directory.Exists(runcRoot))
        {
            foreach (var nsRoot in Directory.EnumerateDirectories(runcRoot))
            {
                foreach (var id in Directory.EnumerateDirectories(nsRoot).Select(Path.GetFileName))
                    problems.AddRange(Failure(RunChecked("runc", "--root", nsRoot, "delete", "--force", id!)));
            }
        }
        foreach (var mount in MountsUnder(daemon.Dir).OrderByDescending(m => m.Length))
            problems.AddRange(Failure(RunChecked("umount", "-l", mount)));
        return problems;
    }

    private static IEnumerable<string> Failure((string Command, int Code, string Output) run) =>
        run.Code == 0 ? [] : [$"{run.Command} exited with {run.Code}: {run.Output}"];

    public static IEnumerable<(int Pid, string CommandLine)> ShimPids(string daemonDir, string? ns)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
                continue;
            string cmdline;
            try
            {
                cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
            }
            catch (IOException)
            {
                continue;
            }
            if (!cmdline.Contains("containerd-shim", StringComparison.Ordinal) || !cmdline.Contains(daemonDir, StringComparison.Ordinal))
                continue;
            if (cmdline.Contains(" --shim ", StringComparison.Ordinal))
                continue; // the daemon itself names the shim binary
            if (ns is not null && !cmdline.Contains($"--namespace {ns} ", StringComparison.Ordinal))
                continue;
            yield return (pid, cmdline.Trim());
        }
    }

    public static IEnumerable<string> MountsUnder(string dir)
    {
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            var fields = line.Split(' ');
            if (fields.Length > 4 && fields[4].StartsWith(dir + "/", StringComparison.Ordinal))
                yield return fields[4];
        }
    }

    /// <summary>
    /// Zombies that this daemon or one of its shims failed to reap: each reaps its own
    /// children (the shim is the child subreaper of its container), so one of theirs is a bug.
    /// <para>
    /// Zombies elsewhere are not ours to count. A shim's parent is the daemon that started
    /// it; once that daemon dies (the restart tests kill it), the shim and, if the shim is
    /// killed too, its container's processes are reparented to PID 1, as nothing between is
    /// a subreaper: the daemon must not be one (shims have to outlive it) and the test host
    /// cannot be one (System.Diagnostics.Process reaps only the children it started; a
    /// waitpid(-1) reaper beside it aborts the runtime). Reaping those is PID 1's duty — here
    /// process_api, which reaps orphans about every 2 s; systemd does at once. What would be
    /// a real leak there, a process that is still alive, is caught by the checks for live
    /// shims and for runc containers (runc keeps its state while a container lives).
    /// </para>
    /// </summary>
    public static IEnumerable<string> Zombies(DaemonProcess daemon) =>
        ZombieProcesses(daemon).Select(z => $"{z.Pid} {z.Name} (parent {z.Parent})");

    private static IEnumerable<int> ZombiePids(DaemonProcess daemon) => ZombieProcesses(daemon).Select(z => z.Pid);

    private static IEnumerable<(int Pid, string Name, int Parent)> ZombieProcesses(DaemonProcess daemon)
    {
        var parents = ShimPids(daemon.Dir, null).Select(s => s.Pid).ToHashSet();
        if (daemon.Pid > 0)
            parents.Add(daemon.Pid);
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
                continue;
            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(dir, "stat"));
            }
            catch (IOException)
            {
                continue;
            }
            var close = stat.LastIndexOf(')');
            var rest = stat[(close + 2)..].Split(' ');
            if (rest[0] == "Z" && parents.Contains(int.Parse(rest[1])))
                yield return (pid, stat[..(close + 1)], int.Parse(rest[1]));
        }
    }

    private static IEnumerable<string> RuncContainers(DaemonProcess daemon, string? ns)
    {
        var runcRoot = Path.Combine(daemon.StateDir, "runc");
        if (!Directory.Exists(runcRoot))
            yield break;
        foreach (var nsRoot in Directory.EnumerateDirectories(runcRoot))
        {
            if (ns is not null && Path.GetFileName(nsRoot) != ns)
                continue;
            foreach (var id in Directory.EnumerateDirectories(nsRoot))
                yield return $"{Path.GetFileName(nsRoot)}/{Path.GetFileName(id)}";
        }
    }

    private static IEnumerable<string> FilesUnder(string dir)
    {
        if (!Directory.Exists(dir))
            return [];
        return Directory.EnumerateFiles(dir, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = true });
    }

    private static bool IsFifo(string path) => Run("stat", "-c", "%F", path).Trim() == "fifo";

    public static string Run(string file, params string[] args) => RunChecked(file, args).Output;

    private static (string Command, int Code, string Output) RunChecked(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        var command = string.Join(' ', args.Prepend(file));
        return (command, process.ExitCode, process.ExitCode == 0 ? output : (output + stderr.Result).Trim());
    }
}
