using System.Diagnostics;
using Containerd.Api.Execution;
using Containerd.Shared.Native;
using Containerd.Tests.Support;
using Task = System.Threading.Tasks.Task;
using EventType = Containerd.Api.Types.Event.Types.EventType;

namespace Containerd.Tests.Integration;

/// <summary>
/// OOM events: a container over its memory limit gets an OOM event (with its init's pid),
/// then the EXIT of the process the kernel killed; one under its limit gets none.
/// </summary>
[TestFixture]
public sealed class OomTests : DaemonFixture
{
    private const long Limit = 16L << 20;

    // busybox dd allocates one buffer of bs bytes and fills it from /dev/zero: 64 MiB cannot fit in 16.
    private static readonly string[] Hog = ["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"];

    [TearDown]
    public void RemoveNamespaceCgroups()
    {
        // runc removes a container's cgroup, not the namespace's parent one the daemon named.
        foreach (var dir in Directory.GetDirectories("/sys/fs/cgroup").Prepend("/sys/fs/cgroup").Select(d => Path.Combine(d, Client.Namespace)))
        {
            try
            {
                if (Directory.Exists(dir))
                    Directory.Delete(dir);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
    }

    [Test]
    public async Task AHogGetsAnOomEventThenItsExit137()
    {
        await using var events = await Client.SubscribeEventsAsync();
        using var ctrEvents = StartCtrEvents();
        var pid = await RunLimitedAsync("hog", Hog);

        var exit = await events.WaitForExitAsync("hog", pid);
        Assert.That(exit.ExitStatus, Is.EqualTo(137u), "the OOM killer SIGKILLs the init");
        Assert.That(events.Sequence("hog"), Is.EqualTo(new[]
        {
            (EventType.Create, "hog", pid),
            (EventType.Start, "hog", pid),
            (EventType.Oom, "hog", pid),
            (EventType.Exit, "hog", pid),
        }), "one OOM, before the EXIT of the process it killed");

        // ctr events prints it by its type's name.
        var line = await ReadLineAsync(ctrEvents, l => l.Contains(" OOM id=hog ", StringComparison.Ordinal));
        Assert.That(line, Does.EndWith($" OOM id=hog pid={pid}"));

        await Client.RemoveAsync("hog");
        Assert.That(events.Sequence("hog").Count(e => e.Type == EventType.Oom), Is.EqualTo(1), "the cgroup's removal is no OOM");
        await Leaks.AssertNoneAsync(Daemon, Client.Namespace);
    }

    [Test]
    public async Task AContainerUnderItsLimitGetsNoOomEvent()
    {
        await using var events = await Client.SubscribeEventsAsync();
        // 4 MiB fits in 16.
        var pid = await RunLimitedAsync("modest", "dd", "if=/dev/zero", "of=/dev/null", "bs=4M", "count=4");
        var exit = await events.WaitForExitAsync("modest", pid);
        Assert.That(exit.ExitStatus, Is.Zero);
        await Client.RemoveAsync("modest");
        Assert.That(events.Sequence("modest"), Is.EqualTo(EventRecorder.CreateStartExit("modest", pid)));
        await Leaks.AssertNoneAsync(Daemon, Client.Namespace);
    }

    [Test]
    public async Task AnExecdHogIsTheVictimAndTheInitRunsOn()
    {
        await using var events = await Client.SubscribeEventsAsync();
        var pid = await RunLimitedAsync("host", "sleep", "300");
        var exec = await Client.ExecAsync("host", Hog);

        // The OOM killer picks the largest process in the cgroup: dd's buffer, not sleep.
        var exit = await events.WaitForExitAsync("host", exec.Pid);
        Assert.That(exit.ExitStatus, Is.EqualTo(137u));
        var sequence = events.Sequence("host");
        Assert.That(sequence, Is.EqualTo(new[]
        {
            (EventType.Create, "host", pid),
            (EventType.Start, "host", pid),
            (EventType.ExecAdded, "host", exec.Pid),
            (EventType.Oom, "host", pid),
            (EventType.Exit, "host", exec.Pid),
        }), "the OOM names the container's init, and comes before the exec's EXIT");
        var info = (await Client.Tasks.InfoAsync(new InfoRequest { ContainerId = "host" }, Client.Options())).Task;
        Assert.That(info.Status, Is.EqualTo(Containerd.Api.Types.Status.Running), "the init survived");

        await Client.RemoveAsync("host");
        Assert.That(events.Sequence("host").Count(e => e.Type == EventType.Oom), Is.EqualTo(1));
        await Leaks.AssertNoneAsync(Daemon, Client.Namespace);
    }

    /// <summary>Runs a container limited to <see cref="Limit"/>, swap included where the kernel accounts it.</summary>
    private async Task<uint> RunLimitedAsync(string id, params string[] args)
    {
        // On cgroup v1 with swap accounting, memory+swap capped too, or the kernel could swap instead of killing.
        long? swap = File.Exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes") ? Limit : null;
        await Client.CreateContainerWithSpecAsync(id, OciSpecs.Container(id, args, Limit, swap));
        var pid = (await Client.Tasks.CreateAsync(DaemonClient.CreateTaskRequest(id), Client.Options())).Pid;
        await Client.Tasks.StartAsync(new StartRequest { ContainerId = id }, Client.Options());
        return pid;
    }

    private sealed class CtrEvents(Process process) : IDisposable
    {
        public Process Process { get; } = process;

        public void Dispose()
        {
            if (!Process.HasExited)
                Libc.Kill(Process.Id, 2);
            Process.WaitForExit(10_000);
            Process.Dispose();
        }
    }

    private CtrEvents StartCtrEvents()
    {
        var info = new ProcessStartInfo(TestPaths.Ctr) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "--address", Daemon.Address, "--namespace", Client.Namespace, "events" })
            info.ArgumentList.Add(arg);
        return new CtrEvents(Process.Start(info)!);
    }

    private static async Task<string> ReadLineAsync(CtrEvents ctr, Func<string, bool> match)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var seen = new List<string>();
        while (await ctr.Process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            if (match(line))
                return line;
            seen.Add(line);
        }
        Assert.Fail("ctr events ended without the line; printed:\n" + string.Join("\n", seen)
            + "\nstderr: " + await ctr.Process.StandardError.ReadToEndAsync());
        return "";
    }
}
