using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Containerd.Api.Execution;
using Containerd.Api.Shim;
using Containerd.Shared.Bundles;
using Containerd.Shared.Grpc;
using Containerd.Shared.Oci;
using Containerd.Shared.Tasks;
using Containerd.Tests.Support;
using Grpc.Core;
using Task = System.Threading.Tasks.Task;

namespace Containerd.Tests.Integration;

/// <summary>
/// Container output written by the shim into a CRI log (a <c>crilog://</c> stdout/stderr):
/// every record is <c>time stream F|P text</c>, nothing is lost while the daemon is killed and
/// restarted (the shim writes, not the daemon), and ReopenLog (the shim's RPC behind the CRI's
/// ReopenContainerLog, called here on the shim's socket) moves later records to a new file
/// after a rotation without losing or repeating any.
/// </summary>
[TestFixture]
public sealed partial class CriLogTests : DaemonFixture
{
    private const int MaxLine = 16 * 1024;
    private static readonly TimeSpan OutputTimeout = TimeSpan.FromSeconds(60);

    private string _dir = "";

    [SetUp]
    public void MakeLogDirectory()
    {
        _dir = Path.Combine("/tmp", "ctdcri-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void RemoveLogDirectory() => Directory.Delete(_dir, recursive: true);

    [Test]
    public async Task StdoutAndStderrAreRecordsOfTheirStreamInOrder()
    {
        const string id = "crilog-both";
        var log = Path.Combine(_dir, "0.log");
        var target = CriLogTarget.For(log);
        await using var events = await Client.SubscribeEventsAsync();
        const string script = "i=0; while [ $i -lt 300 ]; do echo out-$i; echo err-$i >&2; i=$((i+1)); done; echo; printf 'last words'";
        var pid = await Client.CreateTaskAsync(id, ["sh", "-c", script], stdout: target, stderr: target);
        await Client.Tasks.StartAsync(new StartRequest { ContainerId = id }, Client.Options());
        var exit = await events.WaitForExitAsync(id, pid);
        // EXIT follows all output: the log is complete now, before Delete.
        var records = ReadRecords(log);
        await Client.RemoveAsync(id);

        Assert.That(exit.ExitStatus, Is.EqualTo(0u));
        var stdout = records.Where(r => r.Stream == "stdout").ToList();
        var stderr = records.Where(r => r.Stream == "stderr").ToList();
        Assert.Multiple(() =>
        {
            Assert.That(records, Has.Count.EqualTo(602));
            Assert.That(stdout.Select(r => (r.Tag, r.Text)),
                Is.EqualTo(Enumerable.Range(0, 300).Select(i => ("F", $"out-{i}")).Append(("F", "")).Append(("P", "last words"))));
            Assert.That(stderr.Select(r => (r.Tag, r.Text)), Is.EqualTo(Enumerable.Range(0, 300).Select(i => ("F", $"err-{i}"))));
            Assert.That(records.Select(r => r.Time), Is.Ordered, "one writer, one clock: times never go back");
        });
    }

    [Test]
    public async Task ALineOverTheMaximumIsSplitIntoPartialRecords()
    {
        const string id = "crilog-long";
        var log = Path.Combine(_dir, "0.log");
        await using var events = await Client.SubscribeEventsAsync();
        // 40 KB of one line, then its newline; then a line of exactly the maximum.
        var script = $"head -c 40960 /dev/zero | tr '\\000' a; echo; head -c {MaxLine} /dev/zero | tr '\\000' b; echo";
        var pid = await Client.CreateTaskAsync(id, ["sh", "-c", script], stdout: CriLogTarget.For(log), stderr: CriLogTarget.For(log));
        await Client.Tasks.StartAsync(new StartRequest { ContainerId = id }, Client.Options());
        await events.WaitForExitAsync(id, pid);
        var records = ReadRecords(log);
        await Client.RemoveAsync(id);

        Assert.That(records.Select(r => (r.Stream, r.Tag, r.Text.Length)), Is.EqualTo(new[]
        {
            ("stdout", "P", MaxLine), ("stdout", "P", MaxLine), ("stdout", "F", 40960 - 2 * MaxLine), ("stdout", "F", MaxLine),
        }));
        Assert.That(string.Concat(records.Take(3).Select(r => r.Text)), Is.EqualTo(new string('a', 40960)));
        Assert.That(records[3].Text, Is.EqualTo(new string('b', MaxLine)));
    }

    [Test]
    public async Task NoLineIsLostWhileTheDaemonIsKilledAndRestarted()
    {
        const string id = "crilog-restart";
        var log = Path.Combine(_dir, "0.log");
        var target = CriLogTarget.For(log);
        // TERM ends the loop between two echos; the usleep keeps the writer off a whole core.
        const string script = "trap 'exit 0' TERM; i=0; while :; do echo line-$i; i=$((i+1)); [ $((i % 100)) -ne 0 ] || usleep 2000; done";
        var pid = await Client.CreateTaskAsync(id, ["sh", "-c", script], stdout: target, stderr: target);
        await Client.Tasks.StartAsync(new StartRequest { ContainerId = id }, Client.Options());
        await UntilLinesAsync(log, 1000);

        await Daemon.KillAsync();
        var atKill = CountLines(log);
        await Task.Delay(TimeSpan.FromSeconds(1));
        await UntilLinesAsync(log, atKill + 1000);
        Assert.That(Daemon.ExitCode, Is.Not.Null, "the daemon was down all the while");

        await Daemon.RestartAsync();
        using var client = Daemon.Connect(Client.Namespace);
        await using var events = await client.SubscribeEventsAsync();
        var atRestart = CountLines(log);
        await UntilLinesAsync(log, atRestart + 1000);
        await client.Tasks.KillAsync(new KillRequest { ContainerId = id, Signal = 15 }, client.Options());
        var exit = await events.WaitForExitAsync(id, pid);
        var records = ReadRecords(log);
        await client.RemoveAsync(id);

        Assert.That(exit.ExitStatus, Is.EqualTo(0u), "the trap ended the loop");
        AssertSequence(records, "line-");
        TestContext.Progress.WriteLine($"{records.Count} lines, {atRestart - atKill} while the daemon was down");
    }

    [Test]
    public async Task ReopenLogAfterARenameMovesLaterRecordsToANewFileLosingNone()
    {
        const string id = "crilog-rotate";
        var log = Path.Combine(_dir, "0.log");
        var rotated = log + ".1";
        var target = CriLogTarget.For(log);
        const string script = "trap 'exit 0' TERM; i=0; while :; do echo line-$i; i=$((i+1)); [ $((i % 50)) -ne 0 ] || usleep 2000; done";
        await using var events = await Client.SubscribeEventsAsync();
        var pid = await Client.CreateTaskAsync(id, ["sh", "-c", script], stdout: target, stderr: target);
        await Client.Tasks.StartAsync(new StartRequest { ContainerId = id }, Client.Options());
        var shimPid = Probe.ShimPid(Daemon, Client.Namespace, id);
        using var shim = ShimClient(id);
        await UntilLinesAsync(log, 500);
        Assert.That(FdsOn(shimPid, log), Is.EqualTo(1), "stdout and stderr share one fd of the log");

        // As the kubelet rotates: rename, then ReopenContainerLog. Records in between still go to the renamed file.
        File.Move(log, rotated);
        var afterRename = CountLines(rotated);
        await UntilLinesAsync(rotated, afterRename + 200);
        await shim.Client.ReopenLogAsync(new ShimPidRequest { Pid = 0 }, deadline: DateTime.UtcNow.AddMinutes(1));
        await UntilLinesAsync(log, 500);
        Assert.That(FdsOn(shimPid, log), Is.EqualTo(1), "the renamed file's fd was closed, the new file has one");
        Assert.That(FdsOn(shimPid, rotated), Is.Zero);

        await Client.Tasks.KillAsync(new KillRequest { ContainerId = id, Signal = 15 }, Client.Options());
        await events.WaitForExitAsync(id, pid);
        var before = ReadRecords(rotated);
        var after = ReadRecords(log);
        await Client.RemoveAsync(id);

        Assert.That(before, Has.Count.GreaterThanOrEqualTo(afterRename + 200));
        Assert.That(after, Has.Count.GreaterThanOrEqualTo(500));
        AssertSequence([.. before, .. after], "line-");
    }

    [Test]
    public async Task ReopenLogIsRefusedForAStoppedTaskAProcessWithoutALogAndAnUnknownPid()
    {
        const string id = "crilog-refused";
        var log = Path.Combine(_dir, "0.log");
        await using var events = await Client.SubscribeEventsAsync();
        var pid = await Client.CreateTaskAsync(id, ["sleep", "300"], stdout: CriLogTarget.For(log), stderr: CriLogTarget.For(log));
        await Client.Tasks.StartAsync(new StartRequest { ContainerId = id }, Client.Options());
        using var shim = ShimClient(id);
        var exec = await Client.ExecAsync(id, ["sleep", "300"], stdout: Path.Combine(_dir, "exec.out"));

        var noLog = Assert.ThrowsAsync<RpcException>(async () => await shim.Client.ReopenLogAsync(new ShimPidRequest { Pid = exec.Pid }));
        var unknown = Assert.ThrowsAsync<RpcException>(async () => await shim.Client.ReopenLogAsync(new ShimPidRequest { Pid = 999999 }));
        await Client.Tasks.KillAsync(new KillRequest { ContainerId = id, Signal = 9, All = true }, Client.Options());
        await events.WaitForExitAsync(id, pid);
        var stopped = Assert.ThrowsAsync<RpcException>(async () => await shim.Client.ReopenLogAsync(new ShimPidRequest { Pid = 0 }));
        await Client.Tasks.DeleteProcessAsync(new DeleteProcessRequest { ContainerId = id, Pid = exec.Pid }, Client.Options());
        await Client.RemoveAsync(id);

        Assert.Multiple(() =>
        {
            Assert.That((noLog!.StatusCode, noLog.Status.Detail), Is.EqualTo((StatusCode.FailedPrecondition,
                $"process {exec.Pid} in task \"{id}\" does not write a CRI log (its stdout and stderr are not crilog:// targets)")));
            Assert.That((unknown!.StatusCode, unknown.Status.Detail), Is.EqualTo((StatusCode.NotFound, $"process 999999 not found in container \"{id}\"")));
            Assert.That((stopped!.StatusCode, stopped.Status.Detail), Is.EqualTo((StatusCode.FailedPrecondition, $"container \"{id}\" is not running")));
        });
    }

    [Test]
    public async Task MalformedTargetsAndMissingDirectoriesAreInvalidArgumentsThatLeaveNothing()
    {
        await Client.CreateContainerAsync("crilog-bad", "true");
        var relative = DaemonClient.CreateTaskRequest("crilog-bad");
        relative.Stdout = "crilog://var/log/0.log";
        var malformed = Assert.ThrowsAsync<RpcException>(async () => await Client.Tasks.CreateAsync(relative, Client.Options()));

        var missing = Path.Combine(_dir, "absent", "0.log");
        var inMissingDir = DaemonClient.CreateTaskRequest("crilog-bad");
        inMissingDir.Stdout = inMissingDir.Stderr = CriLogTarget.For(missing);
        var absent = Assert.ThrowsAsync<RpcException>(async () => await Client.Tasks.CreateAsync(inMissingDir, Client.Options()));

        await Client.RunAsync("crilog-exec", "sleep", "300");
        var execBad = Assert.ThrowsAsync<RpcException>(async () => await Client.ExecAsync("crilog-exec", ["true"], stderr: "crilog:relative"));
        await Client.RemoveAsync("crilog-exec");
        await Client.Containers.DeleteAsync(new Containerd.Api.Containers.DeleteContainerRequest { Id = "crilog-bad" }, Client.Options());

        Assert.Multiple(() =>
        {
            Assert.That((malformed!.StatusCode, malformed.Status.Detail), Is.EqualTo((StatusCode.InvalidArgument,
                "cannot create task \"crilog-bad\": stdout: CRI log target \"crilog://var/log/0.log\" must name an absolute file path after crilog://")));
            Assert.That(absent!.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
            Assert.That(absent.Status.Detail, Does.Contain("cannot create task \"crilog-bad\"").And.Contain($"cannot open CRI log {missing}: No such file or directory"));
            Assert.That((execBad!.StatusCode, execBad.Status.Detail), Is.EqualTo((StatusCode.InvalidArgument,
                "cannot exec in task \"crilog-exec\": stderr: CRI log target \"crilog:relative\" must be crilog:// followed by an absolute path")));
        });
    }

    [Test]
    public async Task ExecsWithLogsLeaveNoFdInTheShimAndATerminalLogsItsOutputAsStdout()
    {
        const string id = "crilog-execs";
        await using var events = await Client.SubscribeEventsAsync();
        await Client.RunAsync(id, "sleep", "300");
        var shimPid = Probe.ShimPid(Daemon, Client.Namespace, id);

        async Task RunOneAsync(int i)
        {
            var log = Path.Combine(_dir, $"exec-{i}.log");
            var exec = await Client.ExecAsync(id, ["sh", "-c", $"echo out-{i}; echo err-{i} >&2"], stdout: CriLogTarget.For(log), stderr: CriLogTarget.For(log));
            await events.WaitForExitAsync(id, exec.Pid);
            await Client.Tasks.DeleteProcessAsync(new DeleteProcessRequest { ContainerId = id, Pid = exec.Pid }, Client.Options());
            Assert.That(ReadRecords(log).Select(r => $"{r.Stream} {r.Tag} {r.Text}"), Is.EquivalentTo(new[] { $"stdout F out-{i}", $"stderr F err-{i}" }));
            Assert.That(FdsOn(shimPid, log), Is.Zero, $"exec {i}'s log is closed once it is deleted");
        }

        // Warm-up: what the shim opens once (connections, thread pool) is open before counting.
        for (var i = 0; i < 2; i++)
            await RunOneAsync(i);
        var before = FdCount(shimPid);
        for (var i = 2; i < 12; i++)
            await RunOneAsync(i);
        var after = FdCount(shimPid);
        Assert.That(after, Is.LessThanOrEqualTo(before), $"shim fds before {before}, after 10 execs with logs {after}");

        // A terminal: its output (\n made \r\n by the pty) is logged as stdout lines without the \r.
        var ttyLog = Path.Combine(_dir, "tty.log");
        var spec = ProcessSpec.Create(["sh", "-c", "echo one; echo two"], [], "/");
        spec["terminal"] = true;
        var tty = await Client.Tasks.ExecAsync(new ExecRequest
        {
            ContainerId = id,
            Stdout = CriLogTarget.For(ttyLog),
            Stderr = CriLogTarget.For(ttyLog),
            Terminal = true,
            Spec = new Google.Protobuf.WellKnownTypes.Any { TypeUrl = OciSpecs.ProcessTypeUrl, Value = Google.Protobuf.ByteString.CopyFromUtf8(spec.ToJsonString()) },
        }, Client.Options());
        await events.WaitForExitAsync(id, tty.Pid);
        await Client.Tasks.DeleteProcessAsync(new DeleteProcessRequest { ContainerId = id, Pid = tty.Pid }, Client.Options());
        Assert.That(ReadRecords(ttyLog).Select(r => $"{r.Stream} {r.Tag} {r.Text}"), Is.EqualTo(new[] { "stdout F one", "stdout F two" }));
        Assert.That(FdsOn(shimPid, ttyLog), Is.Zero);

        await Client.RemoveAsync(id);
    }

    /// <summary>The shim's own client on its socket (the daemon has no public API for ReopenLog; the CRI calls it in-process).</summary>
    private ShimHandle ShimClient(string id)
    {
        var bundle = new TaskBundle(Path.Combine(Daemon.StateDir, "tasks", Client.Namespace, id));
        var socket = TaskBundle.FitsSocketPath(bundle.DefaultSocket)
            ? bundle.DefaultSocket
            : Path.Combine(Daemon.StateDir, "s",
                Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{Client.Namespace}/{id}")))[..32] + ".sock");
        var channel = UnixSocketChannel.Create(socket);
        return new ShimHandle(channel, new Shim.ShimClient(channel));
    }

    private sealed record ShimHandle(Grpc.Net.Client.GrpcChannel Channel, Shim.ShimClient Client) : IDisposable
    {
        public void Dispose() => Channel.Dispose();
    }

    private static void AssertSequence(IReadOnlyList<Record> records, string prefix)
    {
        Assert.That(records, Is.Not.Empty);
        for (var i = 0; i < records.Count; i++)
        {
            var record = records[i];
            if (record != new Record(record.Time, "stdout", "F", prefix + i))
                Assert.Fail($"record {i} is {record}, want stdout F {prefix}{i} (a gap, a repeat or a torn record)");
        }
    }

    private static async Task UntilLinesAsync(string path, int count) =>
        await Probe.UntilAsync(() => CountLines(path) >= count, $"{count} records in {path}", OutputTimeout);

    private static int CountLines(string path)
    {
        if (!File.Exists(path))
            return 0;
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var count = 0;
        var buffer = new byte[65536];
        int n;
        while ((n = stream.Read(buffer)) > 0)
            count += buffer.AsSpan(0, n).Count((byte)'\n');
        return count;
    }

    /// <summary>Every record of a CRI log, each checked to be <c>time stream tag text</c>.</summary>
    private static List<Record> ReadRecords(string path)
    {
        var text = File.ReadAllText(path);
        Assert.That(text.Length == 0 || text.EndsWith('\n'), $"{path} ends with a whole record");
        var records = new List<Record>();
        foreach (var line in text.Split('\n')[..^1])
        {
            var match = RecordPattern().Match(line);
            Assert.That(match.Success, $"not a CRI log record: {line}");
            records.Add(new Record(DateTime.Parse(match.Groups[1].Value, null, System.Globalization.DateTimeStyles.RoundtripKind),
                match.Groups[2].Value, match.Groups[3].Value, match.Groups[4].Value));
        }
        return records;
    }

    private static int FdsOn(int pid, string path) =>
        Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd").Count(fd =>
        {
            try
            {
                return new FileInfo(fd).LinkTarget is { } target && (target == path || target == path + " (deleted)");
            }
            catch (IOException)
            {
                return false;
            }
        });

    private static int FdCount(int pid) => Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd").Count();

    private sealed record Record(DateTime Time, string Stream, string Tag, string Text);

    // Go's RFC3339Nano in UTC: the fraction's trailing zeros trimmed, no point when it is zero.
    [GeneratedRegex(@"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{0,8}[1-9])?Z) (stdout|stderr) ([FP]) (.*)$")]
    private static partial Regex RecordPattern();
}
