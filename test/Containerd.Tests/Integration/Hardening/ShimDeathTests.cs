using System.Diagnostics;
using Containerd.Api.Containers;
using Containerd.Api.Execution;
using Containerd.Shared.Native;
using Containerd.Tests.Support;
using Grpc.Core;
using Status = Containerd.Api.Types.Status;
using Task = System.Threading.Tasks.Task;
using EventType = Containerd.Api.Types.Event.Types.EventType;

namespace Containerd.Tests.Integration.Hardening;

/// <summary>
/// What a dead shim leaves the daemon to answer for: the task's tombstone survives
/// daemon restarts until Delete, every exec'd process gets its EXIT and is deletable.
/// </summary>
[TestFixture]
public sealed class ShimDeathTests : DaemonFixture
{
    [Test]
    public async Task TombstoneOfAKilledShimSurvivesADaemonKill()
    {
        var o = Client.Options();
        await using (var events = await Client.SubscribeEventsAsync())
        {
            var pid = await Client.RunAsync("buried", "sleep", "300");
            Libc.Kill(Probe.ShimPid(Daemon, Client.Namespace, "buried"), 9);
            var exit = await events.WaitForExitAsync("buried", pid);
            Assert.That(exit.ExitStatus, Is.EqualTo(137u));
            var info = (await Client.Tasks.InfoAsync(new InfoRequest { ContainerId = "buried" }, o)).Task;
            Assert.That((info.Status, info.Pid), Is.EqualTo((Status.Stopped, pid)));

            await Daemon.KillAsync();
            await Daemon.RestartAsync();
            using var client = Daemon.Connect(Client.Namespace);
            var ro = client.Options();
            info = (await client.Tasks.InfoAsync(new InfoRequest { ContainerId = "buried" }, ro)).Task;
            Assert.That((info.Status, info.Pid), Is.EqualTo((Status.Stopped, pid)), "the restarted daemon still knows the stopped task");
            var deleted = await client.Tasks.DeleteAsync(new DeleteRequest { ContainerId = "buried" }, ro);
            Assert.Multiple(() =>
            {
                Assert.That(deleted.ExitStatus, Is.EqualTo(137u));
                Assert.That(deleted.ExitedAt, Is.EqualTo(exit.ExitedAt), "Delete reports the time the EXIT carried");
            });
            Assert.That(Code(() => client.Tasks.InfoAsync(new InfoRequest { ContainerId = "buried" }, ro).ResponseAsync),
                Is.EqualTo(StatusCode.NotFound));
            await client.Containers.DeleteAsync(new DeleteContainerRequest { Id = "buried" }, ro);
        }
    }

    [Test]
    public async Task ExecsOfAKilledShimGetTheirExitAndAreDeletable()
    {
        var o = Client.Options();
        await using var events = await Client.SubscribeEventsAsync();
        var pid = await Client.RunAsync("crowd", "sleep", "300");
        var running = await Client.ExecAsync("crowd", ["sleep", "300"]);
        var finished = await Client.ExecAsync("crowd", ["true"]);
        var finishedExit = await events.WaitForExitAsync("crowd", finished.Pid);
        Libc.Kill(Probe.ShimPid(Daemon, Client.Namespace, "crowd"), 9);

        var execExit = await events.WaitForExitAsync("crowd", running.Pid);
        var initExit = await events.WaitForExitAsync("crowd", pid);
        Assert.Multiple(() =>
        {
            Assert.That(execExit.ExitStatus, Is.EqualTo(137u), "the running exec was killed with its container");
            Assert.That(initExit.ExitStatus, Is.EqualTo(137u));
            Assert.That(events.Sequence("crowd").Count(e => e.Type == EventType.Exit && e.Pid == running.Pid), Is.EqualTo(1));
            Assert.That(events.Sequence("crowd").Count(e => e.Type == EventType.Exit && e.Pid == finished.Pid), Is.EqualTo(1),
                "an exec whose exit the shim published gets no second one");
        });

        var deleted = await Client.Tasks.DeleteProcessAsync(new DeleteProcessRequest { ContainerId = "crowd", Pid = running.Pid }, o);
        Assert.Multiple(() =>
        {
            Assert.That(deleted.ExitStatus, Is.EqualTo(137u));
            Assert.That(deleted.ExitedAt, Is.EqualTo(execExit.ExitedAt));
        });
        Assert.That(Code(() => Client.Tasks.DeleteProcessAsync(new DeleteProcessRequest { ContainerId = "crowd", Pid = running.Pid }, o).ResponseAsync),
            Is.EqualTo(StatusCode.NotFound), "deleted once, then gone");

        // The other exec outlives a daemon restart in the tombstone.
        await Daemon.KillAsync();
        await Daemon.RestartAsync();
        using var client = Daemon.Connect(Client.Namespace);
        var ro = client.Options();
        var kept = await client.Tasks.DeleteProcessAsync(new DeleteProcessRequest { ContainerId = "crowd", Pid = finished.Pid }, ro);
        Assert.Multiple(() =>
        {
            Assert.That(kept.ExitStatus, Is.EqualTo(0u));
            Assert.That(kept.ExitedAt, Is.EqualTo(finishedExit.ExitedAt));
        });
        Assert.That(Code(() => client.Tasks.DeleteProcessAsync(new DeleteProcessRequest { ContainerId = "crowd", Pid = running.Pid }, ro).ResponseAsync),
            Is.EqualTo(StatusCode.NotFound), "a deleted exec does not come back after a restart");
        var gone = await client.Tasks.DeleteAsync(new DeleteRequest { ContainerId = "crowd" }, ro);
        Assert.That((gone.ExitStatus, gone.ExitedAt), Is.EqualTo((137u, initExit.ExitedAt)));
        await client.Containers.DeleteAsync(new DeleteContainerRequest { Id = "crowd" }, ro);
    }

    [Test]
    public async Task KeptExitSurvivesASecondRestartBeforeAnyoneSubscribes()
    {
        var pid = await Client.RunAsync("unheard", "sleep", "300");
        await Daemon.StopAsync();
        Libc.Kill((int)pid, 9);
        await Probe.UntilAsync(() => Probe.IsGone(pid), "the shim to reap its init");
        await Daemon.RestartAsync();
        // CREATE, START, then the EXIT the shim queued while the daemon was down: published (kept) and recorded.
        await Probe.UntilPersistedAsync(Daemon, Client.Namespace, "unheard", 3);
        await Daemon.KillAsync();
        await Daemon.RestartAsync();

        using var client = Daemon.Connect(Client.Namespace);
        var o = client.Options();
        await using var events = await client.SubscribeEventsAsync();
        var exit = await events.WaitForExitAsync("unheard", pid);
        var deleted = await client.Tasks.DeleteAsync(new DeleteRequest { ContainerId = "unheard" }, o);
        Assert.Multiple(() =>
        {
            Assert.That(exit.ExitStatus, Is.EqualTo(137u));
            Assert.That(exit.ExitedAt, Is.EqualTo(deleted.ExitedAt), "the EXIT carries the time the init really exited");
            Assert.That(events.Sequence("unheard").Count(e => e.Type == EventType.Exit), Is.EqualTo(1), "delivered once");
        });
        await client.Containers.DeleteAsync(new DeleteContainerRequest { Id = "unheard" }, o);
    }

    [Test]
    public async Task SameIdInTwoNamespacesGetsTwoCgroupsWithTheirOwnLimits()
    {
        const long small = 64L << 20, large = 96L << 20;
        var otherNamespace = Client.Namespace + "-b";
        using var other = Daemon.Connect(otherNamespace);
        var pid = await Client.RunWithMemoryLimitAsync("twin", small, "sleep", "300");
        try
        {
            var otherPid = await other.RunWithMemoryLimitAsync("twin", large, "sleep", "300");
            try
            {
                Assert.Multiple(() =>
                {
                    Assert.That(MemoryCgroup(pid), Is.EqualTo(($"/{Client.Namespace}/twin", small)));
                    Assert.That(MemoryCgroup(otherPid), Is.EqualTo(($"/{otherNamespace}/twin", large)));
                });
            }
            finally
            {
                await other.RemoveAsync("twin");
            }
        }
        finally
        {
            await Client.RemoveAsync("twin");
            RemoveNamespaceCgroups(Client.Namespace);
            RemoveNamespaceCgroups(otherNamespace);
        }
    }

    [Test]
    public async Task CtrExecSaysTheDaemonWentAwayNotThatItCannotConnect()
    {
        var pid = await Client.RunAsync("left", "sleep", "300");
        await using (var events = await Client.SubscribeEventsAsync())
        {
            var info = new ProcessStartInfo(TestPaths.Ctr) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in new[] { "--address", Daemon.Address, "--namespace", Client.Namespace, "tasks", "exec", "left", "sleep", "1" })
                info.ArgumentList.Add(arg);
            using var ctr = Process.Start(info)!;
            var stderr = ctr.StandardError.ReadToEndAsync();
            var stdout = ctr.StandardOutput.ReadToEndAsync();
            await events.WaitForAsync(e => e.Type == EventType.ExecAdded && e.Id == "left");
            await Daemon.KillAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await ctr.WaitForExitAsync(timeout.Token);
            await stdout;
            var said = await stderr;
            Assert.Multiple(() =>
            {
                Assert.That(ctr.ExitCode, Is.EqualTo(255));
                Assert.That(said, Does.Contain("containerd went away").And.Contain("may have run"));
                Assert.That(said, Does.Not.Contain("cannot connect"));
            });
        }

        await Daemon.RestartAsync();
        using var client = Daemon.Connect(Client.Namespace);
        await client.RemoveAsync("left");
        Assert.That(Probe.IsAlive(pid), Is.False);
    }

    /// <summary>The memory cgroup of a process (v1 memory hierarchy, else the v2 unified one) and the limit set on it.</summary>
    private static (string Path, long Limit) MemoryCgroup(uint pid)
    {
        var lines = File.ReadAllLines($"/proc/{pid}/cgroup").Select(l => l.Split(':', 3)).ToList();
        if (lines.FirstOrDefault(f => f[1].Split(',').Contains("memory")) is { } v1)
            return (v1[2], long.Parse(File.ReadAllText($"/sys/fs/cgroup/memory{v1[2]}/memory.limit_in_bytes").Trim()));
        var v2 = lines.Single(f => f[0] == "0");
        return (v2[2], long.Parse(File.ReadAllText($"/sys/fs/cgroup{v2[2]}/memory.max").Trim()));
    }

    /// <summary>runc removes a container's cgroup, not the namespace's parent one the daemon named.</summary>
    private static void RemoveNamespaceCgroups(string ns)
    {
        foreach (var dir in new[] { "/sys/fs/cgroup" }.Concat(Directory.GetDirectories("/sys/fs/cgroup")).Select(d => Path.Combine(d, ns)))
        {
            try
            {
                if (Directory.Exists(dir))
                    Directory.Delete(dir);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    private static StatusCode Code(Func<Task> call)
    {
        var e = Assert.ThrowsAsync<RpcException>(async () => await call());
        return e!.StatusCode;
    }
}
