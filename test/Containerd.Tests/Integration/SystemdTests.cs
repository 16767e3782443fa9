using System.Diagnostics;
using Containerd.Api.Execution;
using Status = Containerd.Api.Types.Status;
using Containerd.Tests.Support;
using Task = System.Threading.Tasks.Task;

namespace Containerd.Tests.Integration;

/// <summary>
/// Running under systemd: READY=1 only once the daemon serves and every task is back,
/// STOPPING=1 on SIGTERM; the unit file verifies; make install/uninstall place and remove
/// exactly their files, under names that do not collide with Debian's containerd.
/// </summary>
[TestFixture]
public sealed class SystemdTests : DaemonFixture
{
    private const string UnitName = "containerd-cs.service";

    [Test]
    public async Task ReadyOnlyOnceEveryTaskIsBackAndStoppingOnSigterm()
    {
        var ids = Enumerable.Range(0, 20).Select(i => $"unit{i}").ToArray();
        var pids = await RestartTests.RunManyAsync(Client, ids);
        await Daemon.KillAsync();

        using var notify = new NotifySocket(Path.Combine(Daemon.Dir, "notify.sock"));
        var clock = Stopwatch.StartNew();
        await Daemon.RestartAsync(new DaemonStartOptions(
            Environment: new Dictionary<string, string> { ["NOTIFY_SOCKET"] = notify.Path_ },
            UnderSystemd: true,
            WaitForSocket: false));
        await notify.WaitForAsync("READY=1", TimeSpan.FromSeconds(60));
        var readyAfter = clock.ElapsedMilliseconds;

        // The moment READY=1 arrives, every task is back.
        using var client = Daemon.Connect(Client.Namespace);
        var o = client.Options();
        var info = (await client.Tasks.InfoAsync(new InfoRequest { ContainerId = ids[0] }, o)).Task;
        var listed = (await client.Tasks.ListAsync(new ListRequest(), o)).Tasks;
        TestContext.Progress.WriteLine($"READY=1 {readyAfter} ms after the daemon was started, with 20 tasks to re-attach");
        Assert.Multiple(() =>
        {
            Assert.That((info.Status, info.Pid), Is.EqualTo((Status.Running, pids[ids[0]])));
            Assert.That(listed.Select(t => (t.Id, t.Pid, t.Status)),
                Is.EquivalentTo(ids.Select(id => (id, pids[id], Status.Running))));
            Assert.That(notify.Received.Select(r => r.Message), Is.EqualTo(new[] { "READY=1" }));
        });

        var stopClock = Stopwatch.StartNew();
        await Daemon.StopAsync();
        TestContext.Progress.WriteLine($"SIGTERM to exit with 20 tasks: {stopClock.ElapsedMilliseconds} ms");
        await notify.WaitForAsync("STOPPING=1", TimeSpan.FromSeconds(10));
        Assert.Multiple(() =>
        {
            Assert.That(Daemon.ExitCode, Is.EqualTo(0));
            Assert.That(notify.Received.Select(r => r.Message), Is.EqualTo(new[] { "READY=1", "STOPPING=1" }));
            Assert.That(pids.Values.Where(pid => !Probe.IsAlive(pid)), Is.Empty, "tasks outlive a stopped daemon");
        });

        await Daemon.RestartAsync();
        using var again = Daemon.Connect(Client.Namespace);
        await Task.WhenAll(ids.Select(id => again.RemoveAsync(id)));
    }

    [Test]
    public void UnitFileVerifiesAndKeepsContainersAlive()
    {
        var unit = File.ReadAllLines(Path.Combine(TestPaths.RepoRoot, "scripts", UnitName));
        Assert.That(unit, Is.SupersetOf(new[]
        {
            "Type=notify", "KillMode=process", "Delegate=yes", "Restart=always", "LimitNOFILE=infinity", "TasksMax=infinity",
            "ExecStart=/usr/local/bin/containerd-cs",
        }));
        Verify(unit, TestPaths.Daemon);
    }

    [Test]
    public void InstallPlacesWhatTheUnitStartsAndUninstallRemovesExactlyThat()
    {
        var destdir = Path.Combine(Daemon.Dir, "destdir");
        Make("install", destdir);
        var lib = Path.Combine(destdir, "usr/local/lib/containerd-cs");
        var bin = Path.Combine(destdir, "usr/local/bin");
        var unit = File.ReadAllLines(Path.Combine(destdir, "etc/systemd/system", UnitName));
        Assert.Multiple(() =>
        {
            foreach (var file in new[] { "containerd", "libe_sqlite3.so", "containerd-shim", "ctr" })
                Assert.That(File.Exists(Path.Combine(lib, file)), $"{file} installed");
            Assert.That(new FileInfo(Path.Combine(bin, "containerd-cs")).LinkTarget, Is.EqualTo("/usr/local/lib/containerd-cs/containerd"));
            Assert.That(new FileInfo(Path.Combine(bin, "ctr-cs")).LinkTarget, Is.EqualTo("/usr/local/lib/containerd-cs/ctr"));
            Assert.That(Directory.GetFileSystemEntries(bin).Select(Path.GetFileName), Is.EquivalentTo(new[] { "containerd-cs", "ctr-cs" }),
                "nothing that would shadow Debian's containerd or ctr on PATH");
            Assert.That(unit, Does.Contain("ExecStart=/usr/local/bin/containerd-cs"), "the unit starts what was installed");
        });
        Verify(unit, Path.Combine(lib, "containerd"));

        Make("uninstall", destdir);
        var left = Directory.EnumerateFileSystemEntries(destdir, "*", SearchOption.AllDirectories)
            .Where(p => !Directory.Exists(p) || new FileInfo(p).LinkTarget is not null);
        Assert.That(left, Is.Empty);
    }

    /// <summary>
    /// systemd-analyze verify on a copy whose ExecStart names an existing binary: verify
    /// insists that ExecStart be executable, and nothing is installed in /usr/local here.
    /// </summary>
    private void Verify(string[] unit, string daemonBinary)
    {
        if (!File.Exists("/usr/bin/systemd-analyze") && !File.Exists("/bin/systemd-analyze"))
            Assert.Ignore("systemd-analyze is missing: scripts/install-deps.sh --test installs it (package systemd)");
        var dir = Path.Combine(Daemon.Dir, "unit-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(dir);
        var copy = Path.Combine(dir, UnitName);
        File.WriteAllLines(copy, unit.Select(l => l.StartsWith("ExecStart=", StringComparison.Ordinal) ? "ExecStart=" + daemonBinary : l));
        var (code, output) = Run("systemd-analyze", "verify", copy);
        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(output, Is.Empty, "systemd-analyze has no complaints");
    }

    private static void Make(string target, string destdir)
    {
        var (code, output) = Run("make", "-s", "-C", TestPaths.RepoRoot, target, "DESTDIR=" + destdir, "BIN=" + TestPaths.BinDir);
        Assert.That(code, Is.EqualTo(0), $"make {target}: {output}");
    }

    private static (int Code, string Output) Run(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, (stdout.Result + stderr).Trim());
    }
}
