using System.Text;
using Containerd.Api.Execution;
using Containerd.Shared.Native;
using Containerd.Shared.Oci;
using Containerd.Tests.Support;
using Google.Protobuf;
using Grpc.Core;

namespace Containerd.Tests.Integration;

/// <summary>
/// Terminal (pty) processes with real runc: the console socket, copying,
/// resizing (Pty), end of input (CloseStdin) and what a client coming and
/// going does to a terminal's input. The pty turns "\n" into "\r\n" on output
/// and echoes input, so output is searched for lines rather than compared whole.
/// </summary>
[TestFixture]
public sealed class TerminalTests : DaemonFixture
{
    private static readonly TimeSpan OutputTimeout = TimeSpan.FromSeconds(30);

    // "ROWS COLUMNS", or nothing for a 0x0 terminal (busybox's stty has no size to print for one).
    private const string SttySize = "$(stty size 2>/dev/null)";

    [Test]
    public async Task CreateWithTerminalShowsTheDefaultSizeThenThePtySize()
    {
        await using var events = await Client.SubscribeEventsAsync();
        using var stdin = new Fifo("stdin");
        using var stdout = new Fifo("stdout");
        using var output = TerminalOutput.Start(stdout.Path_);

        // One `stty size` at start, then one per input line, until end of input.
        var pid = await CreateTerminalTaskAsync("tty", ["sh", "-c", $"echo size:{SttySize}; while read line; do echo size:{SttySize}; done; echo bye"], stdin.Path_, stdout.Path_);
        await Client.Tasks.StartAsync(new StartRequest { ContainerId = "tty" }, Client.Options());
        // Nobody sized the terminal runc made: it is 0x0, which busybox's stty prints as nothing.
        await output.WaitForAsync("size:\r\n", OutputTimeout);

        var info = (await Client.Tasks.InfoAsync(new InfoRequest { ContainerId = "tty" }, Client.Options())).Task;
        Assert.That(info.Terminal, Is.True, "Info reports the terminal");
        var listed = (await Client.Tasks.ListAsync(new ListRequest(), Client.Options())).Tasks.Single(t => t.Id == "tty");
        Assert.That(listed.Terminal, Is.True, "List reports the terminal");

        await Client.Tasks.PtyAsync(new PtyRequest { ContainerId = "tty", Width = 100, Height = 40 }, Client.Options());
        await stdin.WriteAsync("again\n");
        await output.WaitForAsync("size:40 100\r\n", OutputTimeout);

        await Client.Tasks.CloseStdinAsync(new CloseStdinRequest { ContainerId = "tty" }, Client.Options());
        var exit = await events.WaitForExitAsync("tty", pid);
        Assert.That(exit.ExitStatus, Is.EqualTo(0u), "read saw end of input and the loop ended");
        await output.WaitForAsync("bye\r\n", OutputTimeout);
        await Client.RemoveAsync("tty");
    }

    [Test]
    public async Task ExecWithTerminalHasItsOwnPty()
    {
        await using var events = await Client.SubscribeEventsAsync();
        await Client.RunAsync("exectty", "sleep", "300");
        using var stdin = new Fifo("stdin");
        using var stdout = new Fifo("stdout");
        using var output = TerminalOutput.Start(stdout.Path_);

        var exec = await ExecTerminalAsync("exectty", ["sh", "-c", $"echo first:{SttySize}; read line; echo then:{SttySize}"], stdin.Path_, stdout.Path_);
        await output.WaitForAsync("first:\r\n", OutputTimeout);

        var process = (await Client.Tasks.ProcessesAsync(new ProcessesRequest { ContainerId = "exectty" }, Client.Options())).Processes
            .Single(p => p.Pid == exec.Pid);
        Assert.That(process.Terminal, Is.True, "Processes reports the exec's terminal");

        await Client.Tasks.PtyAsync(new PtyRequest { ContainerId = "exectty", Pid = exec.Pid, Width = 120, Height = 30 }, Client.Options());
        await stdin.WriteAsync("go\n");
        var exit = await events.WaitForExitAsync("exectty", exec.Pid);
        Assert.That(exit.ExitStatus, Is.EqualTo(0u));
        await output.WaitForAsync("then:30 120\r\n", OutputTimeout);

        // Exited but not deleted: a resize is harmless.
        await Client.Tasks.PtyAsync(new PtyRequest { ContainerId = "exectty", Pid = exec.Pid, Width = 80, Height = 24 }, Client.Options());
        await Client.Tasks.DeleteProcessAsync(new DeleteProcessRequest { ContainerId = "exectty", Pid = exec.Pid }, Client.Options());
        await Client.RemoveAsync("exectty");
    }

    [Test]
    public async Task PtyIsRefusedWithoutATerminalForAnUnknownPidAndForAZeroSize()
    {
        await Client.RunAsync("notty", "sleep", "300");
        var init = (await Client.Tasks.InfoAsync(new InfoRequest { ContainerId = "notty" }, Client.Options())).Task;

        var noTerminal = Assert.ThrowsAsync<RpcException>(() =>
            Client.Tasks.PtyAsync(new PtyRequest { ContainerId = "notty", Width = 80, Height = 24 }, Client.Options()).ResponseAsync);
        var unknown = Assert.ThrowsAsync<RpcException>(() =>
            Client.Tasks.PtyAsync(new PtyRequest { ContainerId = "notty", Pid = 999999, Width = 80, Height = 24 }, Client.Options()).ResponseAsync);
        var zero = Assert.ThrowsAsync<RpcException>(() =>
            Client.Tasks.PtyAsync(new PtyRequest { ContainerId = "notty", Width = 0, Height = 24 }, Client.Options()).ResponseAsync);
        Assert.Multiple(() =>
        {
            Assert.That(noTerminal!.StatusCode, Is.EqualTo(StatusCode.FailedPrecondition));
            Assert.That(noTerminal.Status.Detail, Is.EqualTo($"process {init.Pid} in task \"notty\" has no terminal"));
            Assert.That(unknown!.StatusCode, Is.EqualTo(StatusCode.NotFound));
            Assert.That(unknown.Status.Detail, Does.Contain("999999").And.Contain("notty"));
            Assert.That(zero!.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
        });
        await Client.RemoveAsync("notty");
    }

    [TestCase("line\n", TestName = "CloseStdinEndsATerminalCatAfterAWholeLine")]
    [TestCase("partial", TestName = "CloseStdinEndsATerminalCatAfterAPartialLine")]
    public async Task CloseStdinEndsATerminalCat(string input)
    {
        await using var events = await Client.SubscribeEventsAsync();
        using var stdin = new Fifo("stdin");
        using var stdout = new Fifo("stdout");
        using var output = TerminalOutput.Start(stdout.Path_);

        var pid = await CreateTerminalTaskAsync("ttycat", ["cat"], stdin.Path_, stdout.Path_);
        await Client.Tasks.StartAsync(new StartRequest { ContainerId = "ttycat" }, Client.Options());
        await stdin.WriteAsync(input);
        await Client.Tasks.CloseStdinAsync(new CloseStdinRequest { ContainerId = "ttycat" }, Client.Options());

        var exit = await events.WaitForExitAsync("ttycat", pid);
        Assert.That(exit.ExitStatus, Is.EqualTo(0u), "cat read end of input and exited normally");
        // The echo and cat's copy: the input arrives twice.
        var text = input.TrimEnd('\n');
        var all = await output.WaitForEndAsync(OutputTimeout);
        Assert.That(all.Split(text).Length - 1, Is.EqualTo(2), all);
        await Client.RemoveAsync("ttycat");
    }

    [Test]
    public async Task OutputIsCompleteBeforeTheExit()
    {
        await using var events = await Client.SubscribeEventsAsync();
        using var stdout = new Fifo("stdout");
        // Held open but not read until the EXIT: what the shim copied before it is in the FIFO.
        var reader = Libc.Open(stdout.Path_, Libc.O_RDONLY | Libc.O_NONBLOCK | Libc.O_CLOEXEC, 0);
        Assert.That(reader, Is.GreaterThanOrEqualTo(0));
        try
        {
            const int Lines = 300; // well under a FIFO's 64 KiB
            var pid = await CreateTerminalTaskAsync("ttyout",
                ["sh", "-c", $"i=0; while [ $i -lt {Lines} ]; do echo line$i; i=$((i+1)); done; echo END"], "", stdout.Path_);
            await Client.Tasks.StartAsync(new StartRequest { ContainerId = "ttyout" }, Client.Options());
            var exit = await events.WaitForExitAsync("ttyout", pid);
            Assert.That(exit.ExitStatus, Is.EqualTo(0u));

            var text = ReadAvailable(reader);
            Assert.That(text, Does.StartWith("line0\r\n").And.EndWith($"line{Lines - 1}\r\nEND\r\n"));
            Assert.That(text.Split("\r\n", StringSplitOptions.RemoveEmptyEntries), Has.Length.EqualTo(Lines + 1));
        }
        finally
        {
            Libc.Close(reader);
        }
        await Client.RemoveAsync("ttyout");
    }

    [Test]
    public async Task AWriterThatLeavesDoesNotEndTheInputCloseStdinDoes()
    {
        await using var events = await Client.SubscribeEventsAsync();
        using var stdin = new Fifo("stdin");
        using var stdout = new Fifo("stdout");
        using var output = TerminalOutput.Start(stdout.Path_);

        var pid = await CreateTerminalTaskAsync("attach", ["sh", "-c", "while read line; do echo got:$line; done; echo eof"], stdin.Path_, stdout.Path_);
        await Client.Tasks.StartAsync(new StartRequest { ContainerId = "attach" }, Client.Options());
        // Each write opens the FIFO, writes and closes it: a client that attaches and detaches.
        await stdin.WriteAsync("one\n");
        await output.WaitForAsync("got:one\r\n", OutputTimeout);
        await stdin.WriteAsync("two\n");
        await output.WaitForAsync("got:two\r\n", OutputTimeout);
        Assert.That(events.Events.Any(e => e.Type == Containerd.Api.Types.Event.Types.EventType.Exit), Is.False, "still running");

        await Client.Tasks.CloseStdinAsync(new CloseStdinRequest { ContainerId = "attach" }, Client.Options());
        var exit = await events.WaitForExitAsync("attach", pid);
        Assert.That(exit.ExitStatus, Is.EqualTo(0u));
        await output.WaitForAsync("eof\r\n", OutputTimeout);
        await Client.RemoveAsync("attach");
    }

    [Test]
    public async Task ATerminalTheSpecDoesNotAskForFailsWithRuncsWordsAndLeavesNoSocket()
    {
        // The spec says terminal=false: runc refuses a console socket, and says so.
        await Client.CreateContainerAsync("mismatch", "sleep", "300");
        var request = DaemonClient.CreateTaskRequest("mismatch");
        request.Terminal = true;
        var create = Assert.ThrowsAsync<RpcException>(() => Client.Tasks.CreateAsync(request, Client.Options()).ResponseAsync);
        Assert.That(create!.Status.Detail, Does.Contain("console socket"), create.Status.Detail);

        await Client.RunAsync("mismatchexec", "sleep", "300");
        var exec = Assert.ThrowsAsync<RpcException>(() => Client.Tasks.ExecAsync(new ExecRequest
        {
            ContainerId = "mismatchexec",
            Terminal = true,
            Spec = new Google.Protobuf.WellKnownTypes.Any { TypeUrl = OciSpecs.ProcessTypeUrl, Value = ByteString.CopyFromUtf8(OciSpecs.Process(["true"])) },
        }, Client.Options()).ResponseAsync);
        Assert.That(exec!.Status.Detail, Does.Contain("console socket"), exec.Status.Detail);
        var bundle = Path.Combine(Daemon.StateDir, "tasks", Client.Namespace, "mismatchexec");
        Assert.That(Directory.EnumerateFiles(bundle, "console*"), Is.Empty, "no console socket left in the bundle");

        await Client.RemoveAsync("mismatch");
        await Client.RemoveAsync("mismatchexec");
    }

    [Test]
    public async Task ManyTerminalExecsLeaveNoFdAndNoSocketInTheShim()
    {
        await using var events = await Client.SubscribeEventsAsync();
        await Client.RunAsync("ttyleak", "sleep", "300");
        var shim = Leaks.ShimPids(Daemon.Dir, Client.Namespace).Single().Pid;
        var bundle = Path.Combine(Daemon.StateDir, "tasks", Client.Namespace, "ttyleak");

        async Task RunOneAsync(int i)
        {
            using var stdin = new Fifo("stdin");
            using var stdout = new Fifo("stdout");
            var text = stdout.StartReading();
            var exec = await ExecTerminalAsync("ttyleak", ["sh", "-c", $"read line; echo n{i}:$line"], stdin.Path_, stdout.Path_);
            await stdin.WriteAsync("x\n");
            await events.WaitForExitAsync("ttyleak", exec.Pid);
            await Client.Tasks.DeleteProcessAsync(new DeleteProcessRequest { ContainerId = "ttyleak", Pid = exec.Pid }, Client.Options());
            Assert.That(await text.WaitAsync(OutputTimeout), Does.Contain($"n{i}:x\r\n"));
        }

        // Warm-up: whatever the shim opens once (connections, thread pool) is open before counting.
        for (var i = 0; i < 2; i++)
            await RunOneAsync(i);
        var before = FdCount(shim);
        for (var i = 2; i < 22; i++)
            await RunOneAsync(i);
        var after = FdCount(shim);

        Assert.Multiple(() =>
        {
            Assert.That(after, Is.LessThanOrEqualTo(before), $"shim fds before {before}, after 20 terminal execs {after}:\n{FdList(shim)}");
            Assert.That(Directory.EnumerateFiles(bundle, "console*"), Is.Empty, "no console socket left in the bundle");
        });
        await Client.RemoveAsync("ttyleak");
    }

    private async Task<uint> CreateTerminalTaskAsync(string id, string[] args, string stdin, string stdout)
    {
        var spec = RuntimeSpec.Create(id, args, [], "/");
        spec["process"]!["terminal"] = true;
        await Client.CreateContainerWithSpecAsync(id, spec.ToJsonString());
        var request = DaemonClient.CreateTaskRequest(id);
        (request.Stdin, request.Stdout, request.Terminal) = (stdin, stdout, true);
        return (await Client.Tasks.CreateAsync(request, Client.Options())).Pid;
    }

    private Task<ExecResponse> ExecTerminalAsync(string id, string[] args, string stdin, string stdout)
    {
        var spec = ProcessSpec.Create(args, [], "/");
        spec["terminal"] = true;
        return Client.Tasks.ExecAsync(new ExecRequest
        {
            ContainerId = id,
            Stdin = stdin,
            Stdout = stdout,
            Terminal = true,
            Spec = new Google.Protobuf.WellKnownTypes.Any { TypeUrl = OciSpecs.ProcessTypeUrl, Value = ByteString.CopyFromUtf8(spec.ToJsonString()) },
        }, Client.Options()).ResponseAsync;
    }

    private static int FdCount(int pid) => Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd").Count();

    private static string FdList(int pid) => string.Join("\n", Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd").Select(f =>
    {
        try
        {
            return $"{Path.GetFileName(f)} -> {new FileInfo(f).LinkTarget}";
        }
        catch (IOException)
        {
            return Path.GetFileName(f);
        }
    }));

    private static unsafe string ReadAvailable(int fd)
    {
        var text = new MemoryStream();
        var buffer = new byte[4096];
        while (true)
        {
            nint n;
            fixed (byte* p = buffer)
                n = Libc.Read(fd, p, buffer.Length);
            if (n > 0)
                text.Write(buffer, 0, (int)n);
            else if (n < 0 && Libc.LastError == Libc.EINTR)
                continue;
            else
                break; // EAGAIN (nothing more yet) or EOF
        }
        return Encoding.UTF8.GetString(text.ToArray());
    }

    /// <summary>A FIFO read as it fills, so a test can wait for a piece of output while the process still runs.</summary>
    private sealed class TerminalOutput : IDisposable
    {
        private readonly StringBuilder _text = new();
        private readonly Lock _gate = new();
        private readonly string _path;
        private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private bool _ended;

        private TerminalOutput(string path) => _path = path;

        public string Text
        {
            get
            {
                lock (_gate)
                    return _text.ToString();
            }
        }

        /// <summary>Start before the task exists: the open waits for the shim's side, as with <see cref="Fifo.StartReading"/>.</summary>
        public static TerminalOutput Start(string path)
        {
            var output = new TerminalOutput(path);
            Task.Factory.StartNew(output.Run, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            return output;
        }

        public async Task WaitForAsync(string expected, TimeSpan timeout)
        {
            var deadline = DateTime.UtcNow + timeout;
            while (true)
            {
                Task changed;
                lock (_gate)
                {
                    if (_text.ToString().Contains(expected, StringComparison.Ordinal))
                        return;
                    if (_ended)
                        throw new AssertionException($"output ended without \"{Escape(expected)}\"; got \"{Escape(_text.ToString())}\"");
                    changed = _changed.Task;
                }
                var left = deadline - DateTime.UtcNow;
                try
                {
                    await changed.WaitAsync(left > TimeSpan.Zero ? left : TimeSpan.Zero);
                }
                catch (TimeoutException)
                {
                    TestContext.Progress.WriteLine($"terminal output: no \"{Escape(expected)}\"; got \"{Escape(Text)}\"");
                    throw new AssertionException($"no \"{Escape(expected)}\" within {timeout.TotalSeconds} s; got \"{Escape(Text)}\"");
                }
            }
        }

        /// <summary>Everything, once the shim closed its side (after the process's exit).</summary>
        public async Task<string> WaitForEndAsync(TimeSpan timeout)
        {
            var deadline = DateTime.UtcNow + timeout;
            while (true)
            {
                Task changed;
                lock (_gate)
                {
                    if (_ended)
                        return _text.ToString();
                    changed = _changed.Task;
                }
                var left = deadline - DateTime.UtcNow;
                try
                {
                    await changed.WaitAsync(left > TimeSpan.Zero ? left : TimeSpan.Zero);
                }
                catch (TimeoutException)
                {
                    throw new AssertionException($"output did not end within {timeout.TotalSeconds} s; got \"{Escape(Text)}\"");
                }
            }
        }

        public void Dispose()
        {
            // A reader still blocked in open() is released by a writer that comes and goes.
            var fd = Libc.Open(_path, Libc.O_WRONLY | Libc.O_NONBLOCK | Libc.O_CLOEXEC, 0);
            if (fd >= 0)
                Libc.Close(fd);
        }

        private static string Escape(string text) => text.Replace("\r", "\\r").Replace("\n", "\\n");

        private unsafe void Run()
        {
            var fd = Libc.Open(_path, Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
            var buffer = new byte[4096];
            var decoder = Encoding.UTF8.GetDecoder();
            var chars = new char[8192];
            try
            {
                while (fd >= 0)
                {
                    nint n;
                    fixed (byte* p = buffer)
                        n = Libc.Read(fd, p, buffer.Length);
                    if (n < 0 && Libc.LastError == Libc.EINTR)
                        continue;
                    if (n <= 0)
                        break;
                    var count = decoder.GetChars(buffer, 0, (int)n, chars, 0);
                    Signal(() => _text.Append(chars, 0, count));
                }
            }
            finally
            {
                if (fd >= 0)
                    Libc.Close(fd);
                Signal(() => _ended = true);
            }
        }

        private void Signal(Action change)
        {
            TaskCompletionSource changed;
            lock (_gate)
            {
                change();
                changed = _changed;
                _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
            changed.TrySetResult();
        }
    }
}
