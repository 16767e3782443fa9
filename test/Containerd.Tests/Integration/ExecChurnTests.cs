using Containerd.Api.Execution;
using Containerd.Tests.Support;

namespace Containerd.Tests.Integration;

/// <summary>The seed exists because exec'd processes piled up in the shim: 1,000 exec + DeleteProcess cycles must leave nothing.</summary>
[TestFixture]
public sealed class ExecChurnTests : DaemonFixture
{
    [Test]
    public async Task ThousandExecAndDeleteProcessCyclesLeaveOnlyTheInit()
    {
        await using var events = await Client.SubscribeEventsAsync();
        var o = Client.Options();
        var pid = await Client.RunAsync("churn", "sleep", "3000");
        var shimPid = Leaks.ShimPids(Daemon.Dir, Client.Namespace).Single().Pid;

        var consumed = new HashSet<Containerd.Api.Types.Event>();
        long rssAt100 = 0;
        for (var cycle = 1; cycle <= 1000; cycle++)
        {
            var exec = await Client.ExecAsync("churn", ["true"]);
            // pid_max may be small (32768) and the host busy: over a thousand cycles a pid comes
            // back, so an EXIT already consumed must not be taken for this exec's.
            var exit = await events.WaitForAsync(e => e.Type == Containerd.Api.Types.Event.Types.EventType.Exit
                                                       && e.Id == "churn" && e.Pid == exec.Pid && !consumed.Contains(e));
            consumed.Add(exit);
            var deleted = await Client.Tasks.DeleteProcessAsync(new DeleteProcessRequest { ContainerId = "churn", Pid = exec.Pid }, o);
            Assert.That(deleted.ExitStatus, Is.EqualTo(0u));
            if (cycle == 100)
            {
                rssAt100 = RssKb(shimPid);
                TestContext.Progress.WriteLine($"shim RSS after cycle 100: {rssAt100} kB");
            }
        }
        var rssAt1000 = RssKb(shimPid);
        TestContext.Progress.WriteLine($"shim RSS after cycle 1000: {rssAt1000} kB (growth {rssAt1000 - rssAt100} kB)");

        // runc ps lists the cgroup, where runc's own short-lived helper of the last exec
        // (its setns child) may linger a moment after the exec's EXIT; nothing signals its end.
        var processes = (await Client.Tasks.ProcessesAsync(new ProcessesRequest { ContainerId = "churn" }, o)).Processes;
        for (var attempt = 0; attempt < 50 && processes.Count > 1; attempt++)
        {
            await Task.Delay(100);
            processes = (await Client.Tasks.ProcessesAsync(new ProcessesRequest { ContainerId = "churn" }, o)).Processes;
        }
        Assert.Multiple(() =>
        {
            Assert.That(processes.Select(p => p.Pid), Is.EqualTo(new[] { pid }), "only the init process remains");
            Assert.That(Leaks.Zombies(Daemon), Is.Empty);
            Assert.That(rssAt1000 - rssAt100, Is.LessThanOrEqualTo(2048), "shim RSS grew by more than 2 MB");
        });
        await Client.RemoveAsync("churn");
    }

    private static long RssKb(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
    }
}
