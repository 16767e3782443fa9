using System.Diagnostics;
using System.Globalization;
using Containerd.Api.Execution;
using Containerd.Tests.Support;

namespace Containerd.Tests.Integration;

/// <summary>The `ctr` CLI as a person at a shell uses it.</summary>
[TestFixture]
public sealed class CtrTests : DaemonFixture
{
    private Task<(int ExitCode, string Stdout, string Stderr)> CtrAsync(string? stdin, params string[] args) =>
        CtrProcess.RunAsync(Daemon, Client.Namespace, stdin, closeStdin: false, TimeSpan.FromSeconds(60), args);

    [Test]
    public async Task RunRmPrintsHello()
    {
        var (code, stdout, stderr) = await CtrAsync(null, "run", "--rm", "--rootfs", TestPaths.Rootfs, "hello", "echo", "hello");
        Assert.That((code, stdout, stderr), Is.EqualTo((0, "hello\n", "")));
        var (_, containers, _) = await CtrAsync(null, "containers", "list");
        Assert.That(containers, Does.Not.Contain("hello"), "--rm removed the container");
    }

    [Test]
    public async Task RunPropagatesTheExitCodeAndStdin()
    {
        var (code, _, _) = await CtrAsync(null, "run", "--rm", "--rootfs", TestPaths.Rootfs, "seven", "sh", "-c", "exit 7");
        Assert.That(code, Is.EqualTo(7));
        var (catCode, catOut, _) = await CtrAsync("from stdin\n", "run", "--rm", "--rootfs", TestPaths.Rootfs, "cat", "cat");
        Assert.That((catCode, catOut), Is.EqualTo((0, "from stdin\n")));
    }

    [Test]
    public async Task DetachedTasksExecPsKillDelete()
    {
        var (code, _, err) = await CtrAsync(null, "run", "-d", "--rootfs", TestPaths.Rootfs, "bg", "sleep", "300");
        Assert.That(code, Is.EqualTo(0), err);

        var pid = (await Client.Tasks.InfoAsync(new InfoRequest { ContainerId = "bg" }, Client.Options())).Task.Pid;
        var (_, tasks, _) = await CtrAsync(null, "tasks", "list");
        Assert.That(Table(tasks), Is.EqualTo(new[] { new[] { "TASK", "PID", "STATUS" }, ["bg", Text(pid), "RUNNING"] }));

        var (execCode, execOut, _) = await CtrAsync(null, "tasks", "exec", "--cwd", "/etc", "bg", "sh", "-c", "pwd; exit 3");
        Assert.That((execCode, execOut), Is.EqualTo((3, "/etc\n")));

        // Only the init is left, running: ctr deleted its exec once the exec exited.
        var (_, ps, _) = await CtrAsync(null, "tasks", "ps", "bg");
        Assert.That(Table(ps), Is.EqualTo(new[] { new[] { "PID", "STATUS" }, [Text(pid), "RUNNING"] }));

        // The EXIT event says when the task has stopped; no need to poll `ctr tasks list` for it.
        await using var events = await Client.SubscribeEventsAsync();
        Assert.That((await CtrAsync(null, "tasks", "kill", "--signal", "SIGKILL", "bg")).ExitCode, Is.EqualTo(0));
        var exit = await events.WaitForExitAsync("bg", pid);
        Assert.That(Table((await CtrAsync(null, "tasks", "list")).Stdout), Is.EqualTo(new[] { new[] { "TASK", "PID", "STATUS" }, ["bg", Text(pid), "STOPPED"] }));

        var (delCode, delOut, delErr) = await CtrAsync(null, "tasks", "delete", "bg");
        Assert.Multiple(() =>
        {
            Assert.That(delCode, Is.EqualTo(0), delErr);
            var exitedAt = exit.ExitedAt.ToDateTime().ToString("o", CultureInfo.InvariantCulture);
            Assert.That(delOut, Is.EqualTo($"bg exited with status 137 at {exitedAt}\n"), "status 128+9, at the EXIT event's time");
            Assert.That(Probe.IsGone(pid), $"pid {pid} is gone once the task is deleted");
        });
        Assert.That((await CtrAsync(null, "containers", "delete", "bg")).ExitCode, Is.EqualTo(0));
    }

    /// <summary>ctr's table output as rows of cells (columns are separated by runs of spaces; no cell here has one).</summary>
    private static string[][] Table(string output) =>
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .ToArray();

    private static string Text(uint value) => value.ToString(CultureInfo.InvariantCulture);

    [Test]
    public async Task ErrorsPrintTheDaemonsMessageAndExitNonZero()
    {
        var (code, _, stderr) = await CtrAsync(null, "tasks", "delete", "nope");
        Assert.That(code, Is.Not.EqualTo(0));
        Assert.That(stderr, Does.Contain("nope").And.Contain("not found"));
    }
}
