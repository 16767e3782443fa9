using System.Diagnostics;
using Containerd.Api.Execution;
using Containerd.Tests.Support;
using Status = Containerd.Api.Types.Status;

namespace Containerd.Tests.Integration;

/// <summary>
/// <c>ctr run -t</c>, <c>ctr tasks exec -t</c> and <c>ctr tasks attach</c> in a
/// real terminal (a tmux pane): keys typed reach the container's shell through
/// ctr's raw-mode terminal, window resizes reach its pty, Ctrl-P Ctrl-Q
/// detaches, and the terminal is left as it was found.
/// </summary>
[TestFixture]
public sealed class InteractiveTests : DaemonFixture
{
    /// <summary>busybox sh's prompt for root in /.</summary>
    private const string Prompt = "/ #";

    private string CtrCommand() =>
        $"{Tmux.Quote(TestPaths.Ctr)} --address {Tmux.Quote(Daemon.Address)} --namespace {Tmux.Quote(Client.Namespace)}";

    /// <summary>Container ids are unique across runs: ctr's FIFO directories are named after them outside any namespace.</summary>
    private static string UniqueId(string prefix) => $"{prefix}-{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>A script that saves the terminal settings before and after <paramref name="body"/>, then idles so the screen can be read.</summary>
    private static string Script(string dir, string body) => $"""
        stty -g > {Tmux.Quote(Path.Combine(dir, "before"))}
        {body}
        stty -g > {Tmux.Quote(Path.Combine(dir, "after"))}
        echo DONE
        exec sleep 3600
        """;

    private static async Task AssertTerminalRestoredAsync(Tmux tmux)
    {
        await tmux.WaitForLineAsync("DONE");
        var before = await File.ReadAllTextAsync(Path.Combine(tmux.Dir, "before"));
        var after = await File.ReadAllTextAsync(Path.Combine(tmux.Dir, "after"));
        Assert.That(after, Is.EqualTo(before).And.Not.Empty, "ctr left the terminal settings (stty -g) as it found them");
    }

    /// <summary>
    /// Asks <c>stty size</c> until the pty shows <paramref name="size"/>: a
    /// window change reaches the pty asynchronously (SIGWINCH to ctr, then a
    /// Pty call), so a command typed right after it may still see the old size.
    /// </summary>
    private static async Task AssertPtySizeAsync(Tmux tmux, string size)
    {
        for (var attempt = 1; attempt <= 10; attempt++)
        {
            await tmux.TypeAsync("stty size");
            if (await tmux.ShowsLineWithinAsync(size, TimeSpan.FromSeconds(3)))
                return;
        }
        await tmux.WaitForLineAsync(size, TimeSpan.Zero);
    }

    private static void AssertNoFifoDirectories(string id)
    {
        foreach (var parent in new[] { "/run/containerd-cs/ctr", Path.Combine(Path.GetTempPath(), "ctr") })
        {
            if (Directory.Exists(parent))
                Assert.That(Directory.GetDirectories(parent, id + "-*"), Is.Empty, $"ctr's FIFO directories for {id} under {parent}");
        }
    }

    [Test]
    public async Task RunWithATerminalIsInteractiveFollowsResizesAndRestoresTheTerminal()
    {
        var id = UniqueId("tty");
        await using var tmux = await Tmux.StartAsync(dir => Script(dir, $"""
            {CtrCommand()} run -t --rm --rootfs {Tmux.Quote(TestPaths.Rootfs)} {id} sh
            echo EXIT=$?
            """), 80, 24);

        await tmux.WaitForLineAsync(l => l.StartsWith(Prompt, StringComparison.Ordinal), "the container shell's prompt");
        // The quotes make the typed line (echoed by the container's pty) differ from the output.
        await tmux.TypeAsync("echo hel''lo-$((6*7))");
        await tmux.WaitForLineAsync("hello-42");

        await AssertPtySizeAsync(tmux, "24 80");
        await tmux.ResizeAsync(100, 30);
        await AssertPtySizeAsync(tmux, "30 100");

        // In raw mode Ctrl-C is a byte for the container's pty (which interrupts its line), not a signal that ends ctr.
        await tmux.TypeAsync("echo st''arted; sleep 1000");
        await tmux.WaitForLineAsync("started");
        await tmux.KeysAsync("C-c");
        await tmux.TypeAsync("echo af''ter-$((2*5))");
        await tmux.WaitForLineAsync("after-10");

        await tmux.TypeAsync("exit 3");
        await tmux.WaitForLineAsync("EXIT=3");
        await AssertTerminalRestoredAsync(tmux);
        AssertNoFifoDirectories(id);
        var containers = await Client.Containers.ListAsync(new Api.Containers.ListContainersRequest(), Client.Options());
        Assert.That(containers.Containers.Select(c => c.Id), Does.Not.Contain(id), "--rm deleted the container");
    }

    [Test]
    public async Task ExecWithATerminalGetsAPty()
    {
        var id = UniqueId("exec");
        var (code, _, err) = await CtrAsync(null, "run", "-d", "--rootfs", TestPaths.Rootfs, id, "sleep", "300");
        Assert.That(code, Is.EqualTo(0), err);
        try
        {
            await using var tmux = await Tmux.StartAsync(dir => Script(dir, $"""
                {CtrCommand()} tasks exec -t {id} sh
                echo EXIT=$?
                """), 90, 20);
            // Interactive, because Exec starts the process at once: its first
            // resize lands just after the start, and a prompt shows it has happened.
            await tmux.WaitForLineAsync(l => l.StartsWith(Prompt, StringComparison.Ordinal), "the exec'd shell's prompt");
            await tmux.TypeAsync("tty");
            await tmux.WaitForLineAsync(l => l.StartsWith("/dev/pts/", StringComparison.Ordinal), "a /dev/pts/N terminal name");
            await AssertPtySizeAsync(tmux, "20 90");
            await tmux.TypeAsync("exit 4");
            await tmux.WaitForLineAsync("EXIT=4");
            await AssertTerminalRestoredAsync(tmux);
        }
        finally
        {
            await Client.RemoveAsync(id);
        }
        AssertNoFifoDirectories(id);
    }

    [Test]
    public async Task AttachDetachAndAttachAgainUntilTheTaskExits()
    {
        var id = UniqueId("att");
        var (code, _, err) = await CtrAsync(null, "run", "-d", "-t", "--rootfs", TestPaths.Rootfs, id, "sh");
        Assert.That(code, Is.EqualTo(0), err);
        string? fifoDirectory = null;
        try
        {
            var task = (await Client.Tasks.InfoAsync(new InfoRequest { ContainerId = id }, Client.Options())).Task;
            Assert.That((task.Terminal, task.Stderr), Is.EqualTo((true, "")), "a terminal task: stderr is merged into the pty");
            fifoDirectory = Path.GetDirectoryName(task.Stdout);
            Assert.That(Path.GetDirectoryName(task.Stdin), Is.EqualTo(fifoDirectory));
            Assert.That(Directory.Exists(fifoDirectory), "the FIFOs of a detached terminal task outlive ctr run -d");

            await using var tmux = await Tmux.StartAsync(dir => Script(dir, $"""
                {CtrCommand()} tasks attach {id}
                echo EXIT1=$?
                {CtrCommand()} tasks attach {id}
                echo EXIT2=$?
                """), 80, 24);

            await tmux.TypeAsync("echo at''tach-$((2*3))");
            await tmux.WaitForLineAsync("attach-6");
            await AssertPtySizeAsync(tmux, "24 80");

            await tmux.KeysAsync("C-p", "C-q");
            await tmux.WaitForLineAsync($"detached from task {id}");
            await tmux.WaitForLineAsync("EXIT1=0");
            task = (await Client.Tasks.InfoAsync(new InfoRequest { ContainerId = id }, Client.Options())).Task;
            Assert.That(task.Status, Is.EqualTo(Status.Running), "detaching leaves the task running");

            // The second attach (started by the script right after the first one ended) takes over.
            await tmux.TypeAsync("echo sec''ond-$((3*3))");
            await tmux.WaitForLineAsync("second-9");
            await tmux.ResizeAsync(100, 30);
            await AssertPtySizeAsync(tmux, "30 100");
            await tmux.TypeAsync("echo th''ird-$((4*4))");
            await tmux.WaitForLineAsync("third-16");
            // A lone Ctrl-P is no detach: it reaches the shell, whose line editor
            // takes it for "previous command", so Enter runs that command again.
            await tmux.KeysAsync("C-p");
            await tmux.KeysAsync("Enter");
            await tmux.WaitForScreenAsync(screen => screen.Count(l => l.Trim() == "third-16") == 2, "\"third-16\" twice");
            await tmux.TypeAsync("exit 5");
            await tmux.WaitForLineAsync("EXIT2=5");
            await AssertTerminalRestoredAsync(tmux);

            var (delCode, delOut, delErr) = await CtrAsync(null, "tasks", "delete", id);
            Assert.That(delCode, Is.EqualTo(0), delErr);
            Assert.That(delOut, Does.StartWith($"{id} exited with status 5"));
            Assert.That(Directory.Exists(fifoDirectory), Is.False, "ctr tasks delete removed the task's FIFO directory");
            Assert.That((await CtrAsync(null, "containers", "delete", id)).ExitCode, Is.EqualTo(0));
        }
        finally
        {
            // The happy path deleted everything through ctr; this is for a failure halfway.
            if (await ExistsAsync(id))
                await Client.RemoveAsync(id);
            if (fifoDirectory is not null && Directory.Exists(fifoDirectory))
                Directory.Delete(fifoDirectory, recursive: true);
        }
        AssertNoFifoDirectories(id);
    }

    [Test]
    public async Task RunWithATerminalButPipedStdinEndsAtItsEof()
    {
        var id = UniqueId("pipe");
        // No terminal on ctr's side: no raw mode, and the end of the piped input is the pty's EOF, which ends sh.
        var (code, stdout, stderr) = await CtrAsync("echo pi''ped-$((2*4))\n", "run", "-t", "--rm", "--rootfs", TestPaths.Rootfs, id, "sh");
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(0), stderr);
            Assert.That(stdout.Split('\n').Select(l => l.TrimEnd('\r')), Does.Contain("piped-8"));
        });
        AssertNoFifoDirectories(id);
    }

    [Test]
    public async Task AttachingToATaskWithoutStdioOrToNoTaskFails()
    {
        var id = UniqueId("nostdio");
        var (code, _, err) = await CtrAsync(null, "run", "-d", "--rootfs", TestPaths.Rootfs, id, "sleep", "300");
        Assert.That(code, Is.EqualTo(0), err);
        try
        {
            var attach = await CtrAsync(null, "tasks", "attach", id);
            Assert.That(attach, Is.EqualTo((1, "", $"ctr: task {id} has no stdio to attach to\n")));
            var missing = await CtrAsync(null, "tasks", "attach", "nope");
            Assert.That(missing.ExitCode, Is.EqualTo(1));
            Assert.That(missing.Stderr, Does.Contain("nope").And.Contain("not found"));
        }
        finally
        {
            await Client.RemoveAsync(id);
        }
    }

    private async Task<bool> ExistsAsync(string id)
    {
        var containers = await Client.Containers.ListAsync(new Api.Containers.ListContainersRequest(), Client.Options());
        return containers.Containers.Any(c => c.Id == id);
    }

    private Task<(int ExitCode, string Stdout, string Stderr)> CtrAsync(string? stdin, params string[] args) =>
        CtrProcess.RunAsync(Daemon, Client.Namespace, stdin, closeStdin: true, TimeSpan.FromSeconds(60), args);
}
