using Containerd.Api.Execution;
using Containerd.Tests.Support;

namespace Containerd.Tests.Integration;

[TestFixture]
public sealed class StdioTests : DaemonFixture
{
    [Test]
    public async Task StdoutAndStderrAreKeptApart()
    {
        await using var events = await Client.SubscribeEventsAsync();
        using var stdout = new Fifo("stdout");
        using var stderr = new Fifo("stderr");
        var outText = stdout.StartReading();
        var errText = stderr.StartReading();

        var pid = await Client.CreateTaskAsync("split", ["sh", "-c", "echo to-out; echo to-err >&2; echo more-out"], stdout: stdout.Path_, stderr: stderr.Path_);
        await Client.Tasks.StartAsync(new StartRequest { ContainerId = "split" }, Client.Options());
        await events.WaitForExitAsync("split", pid);

        Assert.That(await outText.WaitAsync(TimeSpan.FromSeconds(10)), Is.EqualTo("to-out\nmore-out\n"));
        Assert.That(await errText.WaitAsync(TimeSpan.FromSeconds(10)), Is.EqualTo("to-err\n"));
        await Client.RemoveAsync("split");
    }

    [Test]
    public async Task StdinThenCloseStdinEndsCat()
    {
        await using var events = await Client.SubscribeEventsAsync();
        using var stdin = new Fifo("stdin");
        using var stdout = new Fifo("stdout");
        var outText = stdout.StartReading();

        var pid = await Client.CreateTaskAsync("cat", ["cat"], stdin: stdin.Path_, stdout: stdout.Path_);
        await Client.Tasks.StartAsync(new StartRequest { ContainerId = "cat" }, Client.Options());
        await stdin.WriteAsync("hello through stdin\n");
        await Client.Tasks.CloseStdinAsync(new CloseStdinRequest { ContainerId = "cat" }, Client.Options());

        var exit = await events.WaitForExitAsync("cat", pid);
        Assert.That(exit.ExitStatus, Is.EqualTo(0u), "cat saw EOF and exited normally");
        Assert.That(await outText.WaitAsync(TimeSpan.FromSeconds(10)), Is.EqualTo("hello through stdin\n"));
        await Client.RemoveAsync("cat");
    }

    [Test]
    public async Task ExecStreamsItsOwnStdio()
    {
        await using var events = await Client.SubscribeEventsAsync();
        await Client.RunAsync("execio", "sleep", "300");
        using var stdin = new Fifo("stdin");
        using var stdout = new Fifo("stdout");
        using var stderr = new Fifo("stderr");
        var outText = stdout.StartReading();
        var errText = stderr.StartReading();

        var exec = await Client.ExecAsync("execio", ["sh", "-c", "read line; echo got:$line; echo oops >&2; exit 4"], stdin.Path_, stdout.Path_, stderr.Path_);
        await stdin.WriteAsync("abc\n");
        await Client.Tasks.CloseStdinAsync(new CloseStdinRequest { ContainerId = "execio", Pid = exec.Pid }, Client.Options());
        var exit = await events.WaitForExitAsync("execio", exec.Pid);

        Assert.Multiple(async () =>
        {
            Assert.That(exit.ExitStatus, Is.EqualTo(4u));
            Assert.That(await outText.WaitAsync(TimeSpan.FromSeconds(10)), Is.EqualTo("got:abc\n"));
            Assert.That(await errText.WaitAsync(TimeSpan.FromSeconds(10)), Is.EqualTo("oops\n"));
        });
        await Client.Tasks.DeleteProcessAsync(new DeleteProcessRequest { ContainerId = "execio", Pid = exec.Pid }, Client.Options());
        await Client.RemoveAsync("execio");
    }

    [Test]
    public async Task OutputToARegularFile()
    {
        await using var events = await Client.SubscribeEventsAsync();
        var file = Path.Combine(Path.GetTempPath(), "ctd-out-" + Guid.NewGuid().ToString("N")[..8] + ".log");
        try
        {
            var pid = await Client.CreateTaskAsync("tofile", ["echo", "in a file"], stdout: file);
            await Client.Tasks.StartAsync(new StartRequest { ContainerId = "tofile" }, Client.Options());
            await events.WaitForExitAsync("tofile", pid);
            await Client.RemoveAsync("tofile");
            Assert.That(await File.ReadAllTextAsync(file), Is.EqualTo("in a file\n"));
        }
        finally
        {
            File.Delete(file);
        }
    }
}
