using System.Diagnostics;
using Containerd.Api.Execution;
using Containerd.Tests.Support;
using Google.Protobuf;
using Grpc.Core;
using EventType = Containerd.Api.Types.Event.Types.EventType;
using TaskStatus = Containerd.Api.Types.Status;

namespace Containerd.Tests.Integration.Hardening;

/// <summary>
/// A hung runc blocks only its own caller, and exits come in containerd's
/// order. The daemon runs a runc wrapper that stalls a <c>runc exec</c> while
/// the test's stall file exists (and is the real runc otherwise).
/// </summary>
public sealed class ShimConcurrencyTests : DaemonFixture
{
    /// <summary>No tight timing: what matters is not being blocked for the whole stall.</summary>
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(5);

    private readonly string _dir = Path.Combine("/tmp", "ctdw-" + Guid.NewGuid().ToString("N")[..8]);

    public ShimConcurrencyTests()
    {
        Directory.CreateDirectory(_dir);
        var runc = Leaks.Run("sh", "-c", "command -v runc").Trim();
        File.WriteAllText(Wrapper, $$"""
            #!/bin/sh
            # Stalls runc exec while {{StallFile}} exists; the stall ends when its sleep is killed.
            for a in "$@"; do
                if [ "$a" = exec ] && [ -e '{{StallFile}}' ]; then
                    echo $$ > '{{_dir}}/wrapper.pid'
                    sleep 60 &
                    echo $! > '{{_dir}}/sleep.tmp' && mv '{{_dir}}/sleep.tmp' '{{SleepPidFile}}'
                    wait $!
                    break
                fi
            done
            exec '{{runc}}' "$@"
            """);
        File.SetUnixFileMode(Wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    private string Wrapper => Path.Combine(_dir, "runc-wrapper");

    private string StallFile => Path.Combine(_dir, "stall");

    private string SleepPidFile => Path.Combine(_dir, "sleep.pid");

    private string WrapperPidFile => Path.Combine(_dir, "wrapper.pid");

    protected override DaemonStartOptions StartOptions => new(Arguments: ["--runtime", Wrapper]);

    [OneTimeTearDown]
    public void RemoveWrapper() => Directory.Delete(_dir, recursive: true);

    [TearDown]
    public void EndAnyStall() => Release();

    [Test]
    public async Task AStalledExecBlocksNeitherKillNorTheInitsExitNorInfo()
    {
        await using var events = await Client.SubscribeEventsAsync();
        var pid = await Client.RunAsync("stall", "sleep", "3000");
        File.WriteAllText(StallFile, "");
        var exec = ExecWithDeadline("stall", ["sleep", "3000"], TimeSpan.FromSeconds(8));
        await WaitForStallAsync();

        var clock = Stopwatch.StartNew();
        var info = await Client.Tasks.InfoAsync(new InfoRequest { ContainerId = "stall" }, Client.Options());
        Assert.That(clock.Elapsed, Is.LessThan(Prompt), "Info waited for the stalled runc exec");
        Assert.That(info.Task.Status, Is.EqualTo(TaskStatus.Running));

        clock.Restart();
        await Client.Tasks.KillAsync(new KillRequest { ContainerId = "stall", Signal = 9 }, Client.Options());
        Assert.That(clock.Elapsed, Is.LessThan(Prompt), "Kill waited for the stalled runc exec");

        var exit = await events.WaitForExitAsync("stall", pid).WaitAsync(Prompt);
        Assert.That(exit.ExitStatus, Is.EqualTo(137u));
        Assert.That(clock.Elapsed, Is.LessThan(Prompt), "the init's EXIT waited for the stalled runc exec");

        clock.Restart();
        info = await Client.Tasks.InfoAsync(new InfoRequest { ContainerId = "stall" }, Client.Options());
        Assert.That(clock.Elapsed, Is.LessThan(Prompt));
        Assert.That(info.Task.Status, Is.EqualTo(TaskStatus.Stopped));
        Assert.That(File.Exists(SleepPidFile), Is.True, "the exec was still stalled throughout");

        var failed = Assert.ThrowsAsync<RpcException>(() => exec)!;
        Assert.That(failed.StatusCode, Is.AnyOf(StatusCode.DeadlineExceeded, StatusCode.Cancelled));

        // The stall ends: the real runc exec runs into a stopped container and fails.
        await ReleaseAndWaitForWrapperAsync();
        var state = await Client.Tasks.InfoAsync(new InfoRequest { ContainerId = "stall" }, Client.Options());
        Assert.That(state.Task.Status, Is.EqualTo(TaskStatus.Stopped));
        Assert.That(Leaks.Zombies(Daemon), Is.Empty);
        Assert.That(events.Sequence("stall").Where(e => e.Type == EventType.ExecAdded), Is.Empty);

        var deleted = await Client.Tasks.DeleteAsync(new DeleteRequest { ContainerId = "stall" }, Client.Options());
        Assert.That(deleted.ExitStatus, Is.EqualTo(137u));
        await Client.RemoveAsync("stall");
    }

    [Test]
    public async Task AnExecWhoseClientGaveUpIsKilledAndForgottenOnceRuncReturns()
    {
        await using var events = await Client.SubscribeEventsAsync();
        var pid = await Client.RunAsync("late", "sleep", "3000");
        File.WriteAllText(StallFile, "");
        var exec = ExecWithDeadline("late", ["sleep", "4321"], TimeSpan.FromSeconds(2));
        await WaitForStallAsync();

        var failed = Assert.ThrowsAsync<RpcException>(() => exec)!;
        Assert.That(failed.StatusCode, Is.AnyOf(StatusCode.DeadlineExceeded, StatusCode.Cancelled));

        // The stall ends: the real runc exec now starts "sleep 4321", which nobody asked for any more.
        await ReleaseAndWaitForWrapperAsync();
        await WaitUntilAsync(() => SleepersOf("4321") == 0, "the abandoned exec's process is still running");

        var processes = await Client.Tasks.ProcessesAsync(new ProcessesRequest { ContainerId = "late" }, Client.Options());
        Assert.That(processes.Processes.Select(p => p.Pid), Is.EqualTo(new[] { pid }), "no exec entry is left");
        Assert.That(events.Sequence("late").Where(e => e.Type == EventType.ExecAdded), Is.Empty);
        Assert.That(Leaks.Zombies(Daemon), Is.Empty);

        // The task still works: a new exec runs and exits.
        var next = await Client.ExecAsync("late", ["true"]);
        var nextExit = await events.WaitForExitAsync("late", next.Pid).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.That(nextExit.ExitStatus, Is.EqualTo(0u));
        await Client.Tasks.DeleteProcessAsync(new DeleteProcessRequest { ContainerId = "late", Pid = next.Pid }, Client.Options());
        await Client.RemoveAsync("late");
    }

    [TestCase(false, TestName = "ExecExitsComeBeforeTheInitsInTheContainersOwnPidNamespace")]
    [TestCase(true, TestName = "ExecsAreKilledAndTheirExitsComeBeforeTheInitsInTheHostPidNamespace")]
    public async Task ExecExitsComeBeforeTheInits(bool hostPid)
    {
        var id = hostPid ? "hostpid" : "ownpid";
        await using var events = await Client.SubscribeEventsAsync();
        string[] args = ["sleep", "3000"];
        await Client.CreateContainerWithSpecAsync(id, hostPid ? OciSpecs.ContainerSharingHostPid(id, args) : OciSpecs.Container(id, args));
        var pid = (await Client.Tasks.CreateAsync(DaemonClient.CreateTaskRequest(id), Client.Options())).Pid;
        await Client.Tasks.StartAsync(new StartRequest { ContainerId = id }, Client.Options());
        var exec = await Client.ExecAsync(id, ["sleep", "3001"]);

        await Client.Tasks.KillAsync(new KillRequest { ContainerId = id, Signal = 9 }, Client.Options());
        await events.WaitForExitAsync(id, pid).WaitAsync(TimeSpan.FromSeconds(30));

        var exits = events.Sequence(id).Where(e => e.Type == EventType.Exit).Select(e => e.Pid).ToList();
        Assert.That(exits, Is.EqualTo(new[] { exec.Pid, pid }), "the exec's EXIT comes before the init's");
        var execExit = events.Events.Single(e => e.Type == EventType.Exit && e.Pid == exec.Pid);
        Assert.That(execExit.ExitStatus, Is.EqualTo(137u));

        var deleted = await Client.Tasks.DeleteProcessAsync(new DeleteProcessRequest { ContainerId = id, Pid = exec.Pid }, Client.Options());
        Assert.That(deleted.ExitStatus, Is.EqualTo(137u));
        Assert.That(SleepersOf("3001"), Is.EqualTo(0), "no exec'd process outlives its task");
        await Client.RemoveAsync(id);
    }

    private Task<ExecResponse> ExecWithDeadline(string id, string[] args, TimeSpan deadline) =>
        Client.Tasks.ExecAsync(new ExecRequest
        {
            ContainerId = id,
            Spec = new Google.Protobuf.WellKnownTypes.Any
            {
                TypeUrl = OciSpecs.ProcessTypeUrl,
                Value = ByteString.CopyFromUtf8(OciSpecs.Process(args)),
            },
        }, new CallOptions(headers: Client.Headers, deadline: DateTime.UtcNow + deadline)).ResponseAsync;

    private Task WaitForStallAsync() =>
        WaitUntilAsync(() => File.Exists(SleepPidFile), "the wrapper never stalled a runc exec");

    /// <summary>Ends the stall (kills the wrapper's sleep); later execs run the real runc.</summary>
    private void Release()
    {
        File.Delete(StallFile);
        if (File.Exists(SleepPidFile) && int.TryParse(File.ReadAllText(SleepPidFile).Trim(), out var sleeper))
        {
            try
            {
                using var process = Process.GetProcessById(sleeper);
                process.Kill();
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                // Already gone.
            }
            File.Delete(SleepPidFile);
        }
    }

    private async Task ReleaseAndWaitForWrapperAsync()
    {
        var wrapper = int.Parse(File.ReadAllText(WrapperPidFile).Trim());
        Release();
        await WaitUntilAsync(() => !Directory.Exists($"/proc/{wrapper}"), "the wrapper (and the runc exec it ran) never returned");
    }

    /// <summary>Live <c>sleep ARG</c> processes anywhere (the containers share the host's /proc view of pids).</summary>
    private static int SleepersOf(string arg)
    {
        var count = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                if (File.ReadAllText(Path.Combine(dir, "cmdline")) == $"sleep\0{arg}\0"
                    && !File.ReadAllText(Path.Combine(dir, "stat")).Contains(") Z ", StringComparison.Ordinal))
                    count++;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The process went away meanwhile.
            }
        }
        return count;
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string failure)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                Assert.Fail(failure);
            await Task.Delay(50);
        }
    }
}
