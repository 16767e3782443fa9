using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Containerd.Api.Execution;
using Containerd.Shared.Native;
using Containerd.Tests.Support;
using Task = System.Threading.Tasks.Task;

namespace Containerd.Tests.Integration;

/// <summary>
/// What the shim guarantees about a process's output: it flows while the daemon is down (the
/// daemon is not in the data path), it reaches regular files byte for byte, and a large stream
/// goes through in constant shim memory — a client that stops reading stops the container
/// (back-pressure through the pipes), it does not make the shim buffer.
/// </summary>
[TestFixture]
public sealed partial class OutputStreamTests : DaemonFixture
{
    private const long HundredMegabytes = 100L * 1024 * 1024;

    // The copy path allocates nothing per chunk (two 32 KB native buffers, 128 KB thread
    // stacks); 8 MB above idle leaves room for the runtime's own noise (GC heap trimming,
    // the RPCs of Start/Kill/Delete) while 100 MB, or even a tenth of it, buffered would not fit.
    private const long TransferRssBound = 8 * 1024 * 1024;

    // While the client does not read, the shim's copy thread sits in poll(): the RSS may only
    // move by what unrelated runtime activity touches, far below one stalled 32 KB chunk a tick.
    private const long PauseRssBound = 2 * 1024 * 1024;

    [Test]
    public async Task OutputFlowsWhileTheDaemonIsDownAndStdioWorksAfterReattach()
    {
        const string id = "counter";
        using var stdin = new Fifo("stdin");
        using var stdout = new Fifo("stdout");
        using var stderr = new Fifo("stderr");
        var outOpen = FifoReader.OpenAsync(stdout.Path_);
        var errOpen = FifoReader.OpenAsync(stderr.Path_);
        // TERM is trapped (a pid namespace's init ignores signals it does not handle) so that
        // the stop comes between two echos. The background cat reads the init's stdin (an
        // asynchronous list of a non-interactive shell gets /dev/null unless stdin is
        // redirected explicitly, hence fd 3) and says when it sees EOF. The usleep every 100
        // lines keeps the writer from taking a whole core of this shared machine.
        const string script = "trap 'exit 0' TERM; exec 3<&0; { cat <&3 >/dev/null; echo stdin-eof >&2; } & "
            + "i=0; while :; do echo line-$i; i=$((i+1)); [ $((i % 100)) -ne 0 ] || usleep 1000; done";
        var pid = await Client.CreateTaskAsync(id, ["sh", "-c", script], stdin: stdin.Path_, stdout: stdout.Path_, stderr: stderr.Path_);
        using var outReader = await outOpen;
        using var errReader = await errOpen;
        var lines = new LineSequence(outReader);
        var errors = new Collected(errReader);
        await Client.Tasks.StartAsync(new StartRequest { ContainerId = id }, Client.Options());
        await Probe.UntilAsync(() => lines.Count >= 1000, "the first 1000 lines");

        await Daemon.KillAsync();
        var atKill = lines.Count;
        // The daemon stays down a while: the stream must keep advancing without it.
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        await Probe.UntilAsync(() => lines.Count >= atKill + 1000, "1000 more lines while the daemon is down");
        var whileDown = lines.Count - atKill;
        Assert.That(Daemon.ExitCode, Is.Not.Null, "the daemon was down all the while");

        await Daemon.RestartAsync();
        using var client = Daemon.Connect(Client.Namespace);
        var o = client.Options();
        var atRestart = lines.Count;
        await Probe.UntilAsync(() => lines.Count >= atRestart + 1000, "1000 more lines after the restart");
        await using var events = await client.SubscribeEventsAsync();

        // A new exec's stdio through the restarted daemon: a line goes in and comes back while
        // stdin is still open, then CloseStdin ends the cat.
        using var execIn = new Fifo("stdin");
        using var execOut = new Fifo("stdout");
        var execOutOpen = FifoReader.OpenAsync(execOut.Path_);
        var exec = await client.ExecAsync(id, ["cat"], execIn.Path_, execOut.Path_);
        using var execOutReader = await execOutOpen;
        var echoed = new Collected(execOutReader);
        await using (var input = new FileStream(execIn.Path_, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1))
        {
            await input.WriteAsync("ping through the restarted daemon\n"u8.ToArray());
            await input.FlushAsync();
            await Probe.UntilAsync(() => echoed.Text.EndsWith('\n'), "the exec's echo");
            await client.Tasks.CloseStdinAsync(new CloseStdinRequest { ContainerId = id, Pid = exec.Pid }, o);
            var execExit = await events.WaitForExitAsync(id, exec.Pid);
            Assert.That(execExit.ExitStatus, Is.EqualTo(0u), "cat saw EOF on stdin and exited normally");
        }
        await echoed.Completion.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.That(echoed.Text, Is.EqualTo("ping through the restarted daemon\n"));
        await client.Tasks.DeleteProcessAsync(new DeleteProcessRequest { ContainerId = id, Pid = exec.Pid }, o);

        // CloseStdin and Kill of the init, too, go through the restarted daemon to the shim.
        await client.Tasks.CloseStdinAsync(new CloseStdinRequest { ContainerId = id }, o);
        await Probe.UntilAsync(() => errors.Text.Contains("stdin-eof\n", StringComparison.Ordinal), "the init's stdin to reach EOF");
        await client.Tasks.KillAsync(new KillRequest { ContainerId = id, Signal = 15 }, o);
        var exit = await events.WaitForExitAsync(id, pid);
        await lines.Completion.WaitAsync(TimeSpan.FromSeconds(30));
        await errors.Completion.WaitAsync(TimeSpan.FromSeconds(30));
        TestContext.Progress.WriteLine($"{lines.Count} lines in all, {whileDown} of them while the daemon was down");

        Assert.Multiple(() =>
        {
            Assert.That(exit.ExitStatus, Is.EqualTo(0u), "the trap ended the init");
            Assert.That(lines.Error, Is.Null, "the lines form one unbroken sequence from line-0");
            Assert.That(lines.Partial, Is.Empty, "the stream ends with a whole line");
            Assert.That(lines.Count, Is.GreaterThan(atRestart + 1000));
            Assert.That(errors.Text, Is.EqualTo("stdin-eof\n"));
        });
        await client.RemoveAsync(id);
    }

    [Test]
    public async Task TaskOutputToFilesIsAppendedCreatedAndBinarySafe()
    {
        const string id = "tofiles";
        var dir = TempDir();
        try
        {
            var outFile = Path.Combine(dir, "out.bin");
            var errFile = Path.Combine(dir, "err.bin");
            byte[] previous = [.. "kept from before\n"u8, 0, 255, 10];
            await File.WriteAllBytesAsync(outFile, previous);
            await using var events = await Client.SubscribeEventsAsync();

            // Every byte value (NUL and invalid UTF-8 included), then a megabyte without a newline.
            var script = $"printf '{AllBytesEscaped}'; head -c 1048576 /dev/zero; printf '{AllBytesEscaped}' >&2";
            var pid = await Client.CreateTaskAsync(id, ["sh", "-c", script], stdout: outFile, stderr: errFile);
            await Client.Tasks.StartAsync(new StartRequest { ContainerId = id }, Client.Options());
            var exit = await events.WaitForExitAsync(id, pid);
            await Client.RemoveAsync(id);

            var expected = previous.Concat(AllBytes).Concat(new byte[1048576]).ToArray();
            var actual = await File.ReadAllBytesAsync(outFile);
            var actualErr = await File.ReadAllBytesAsync(errFile);
            Assert.Multiple(() =>
            {
                Assert.That(exit.ExitStatus, Is.EqualTo(0u));
                // Compared as hashes: NUnit would otherwise print a megabyte on failure.
                Assert.That((actual.Length, Convert.ToHexString(SHA256.HashData(actual))),
                    Is.EqualTo((expected.Length, Convert.ToHexString(SHA256.HashData(expected)))), "stdout appended to what the file held");
                Assert.That(actualErr, Is.EqualTo(AllBytes), "stderr's file was created");
            });
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public async Task ExecStdoutAndStderrToOneFileBothArriveWhole()
    {
        const string id = "execfile";
        var dir = TempDir();
        try
        {
            var file = Path.Combine(dir, "both.log");
            await File.WriteAllTextAsync(file, "header\n");
            await Client.RunAsync(id, "sleep", "300");
            await using var events = await Client.SubscribeEventsAsync();

            // Two pipes, two copy threads, one O_APPEND file: each line is one write, so lines
            // interleave but never tear, and each stream keeps its own order.
            const int count = 2000;
            var script = $"i=0; while [ $i -lt {count} ]; do echo out-$i; echo err-$i >&2; i=$((i+1)); done";
            var exec = await Client.ExecAsync(id, ["sh", "-c", script], stdout: file, stderr: file);
            var exit = await events.WaitForExitAsync(id, exec.Pid);
            await Client.Tasks.DeleteProcessAsync(new DeleteProcessRequest { ContainerId = id, Pid = exec.Pid }, Client.Options());
            await Client.RemoveAsync(id);

            var lines = (await File.ReadAllTextAsync(file)).Split('\n');
            Assert.Multiple(() =>
            {
                Assert.That(exit.ExitStatus, Is.EqualTo(0u));
                Assert.That(lines[0], Is.EqualTo("header"), "the file was appended to");
                Assert.That(lines[^1], Is.Empty, "the file ends with a whole line");
                Assert.That(lines[1..^1].Where(l => l.StartsWith("out-", StringComparison.Ordinal)),
                    Is.EqualTo(Enumerable.Range(0, count).Select(i => $"out-{i}")), "stdout, whole and in order");
                Assert.That(lines[1..^1].Where(l => l.StartsWith("err-", StringComparison.Ordinal)),
                    Is.EqualTo(Enumerable.Range(0, count).Select(i => $"err-{i}")), "stderr, whole and in order");
                Assert.That(lines.Length, Is.EqualTo(2 * count + 2), "nothing else");
            });
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public async Task HundredMegabytesArriveIntactInConstantShimMemory()
    {
        var result = await TransferAsync("bulk", pauseAt: null);
        TestContext.Progress.WriteLine($"100 MB through stdout in {result.Elapsed.TotalMilliseconds:F0} ms " +
            $"({HundredMegabytes / result.Elapsed.TotalSeconds / 1e6:F0} MB/s), shim CPU {result.ShimCpu.TotalMilliseconds:F0} ms; shim RSS idle {Mb(result.IdleRss)}, peak {Mb(result.PeakRss)}");
        Assert.Multiple(() =>
        {
            Assert.That(result.Bytes, Is.EqualTo(HundredMegabytes));
            Assert.That(result.Digest, Is.EqualTo(result.ContainerDigest), "the bytes read are the bytes the container wrote");
            Assert.That(result.PeakRss, Is.LessThanOrEqualTo(result.IdleRss + TransferRssBound), "the shim's RSS stays within idle + 8 MB");
        });
    }

    [Test]
    public async Task AClientThatStopsReadingBlocksTheContainerNotTheShim()
    {
        var result = await TransferAsync("stalled", pauseAt: 40L * 1024 * 1024);
        var pause = result.Pause!;
        TestContext.Progress.WriteLine($"paused {pause.Duration.TotalMilliseconds:F0} ms with {pause.Pending} of {pause.Capacity} bytes pending in the FIFO; " +
            $"tee wrote {pause.WrittenBefore} then {pause.WrittenAfter} bytes; shim RSS {Mb(pause.RssBefore)} → peak {Mb(pause.PeakRss)} during the pause, {Mb(result.PeakRss)} overall");
        Assert.Multiple(() =>
        {
            Assert.That(result.Bytes, Is.EqualTo(HundredMegabytes));
            Assert.That(result.Digest, Is.EqualTo(result.ContainerDigest), "the bytes read are the bytes the container wrote");
            Assert.That(pause.Pending, Is.InRange(1, pause.Capacity), "the FIFO held what the shim could write, no more");
            Assert.That(pause.WrittenAfter, Is.EqualTo(pause.WrittenBefore), "the container made no progress while the client did not read");
            Assert.That(pause.PeakRss, Is.LessThanOrEqualTo(pause.RssBefore + PauseRssBound), "the shim did not grow while the client did not read");
            Assert.That(result.PeakRss, Is.LessThanOrEqualTo(result.IdleRss + TransferRssBound), "the shim's RSS stays within idle + 8 MB");
        });
    }

    [Test]
    public async Task AContainerBlockedOnAClientThatNeverReadsIsStillKilledAndDeleted()
    {
        const string id = "blocked";
        using var stdout = new Fifo("stdout");
        var outOpen = FifoReader.OpenAsync(stdout.Path_);
        var pid = await Client.CreateTaskAsync(id, ["cat", "/dev/zero"], stdout: stdout.Path_);
        using var reader = await outOpen;
        var shim = Probe.ShimPid(Daemon, Client.Namespace, id);
        await Client.Tasks.StartAsync(new StartRequest { ContainerId = id }, Client.Options());
        // Nobody reads: the FIFO, the shim's buffer and the pipe fill, then cat sleeps in write(2).
        var last = -1;
        var steady = 0;
        await Probe.UntilAsync(() =>
        {
            var now = reader.Pending;
            steady = now == last && now > 0 && State((int)pid) == 'S' ? steady + 1 : 0;
            last = now;
            return steady >= 5;
        }, "cat to block on its full stdout");
        var rssBlocked = Rss(shim);

        // A blocked stream holds up neither a daemon restart nor the Kill and Delete after it.
        await Daemon.KillAsync();
        await Daemon.RestartAsync();
        using var client = Daemon.Connect(Client.Namespace);
        var o = client.Options();
        await using var events = await client.SubscribeEventsAsync();
        var info = (await client.Tasks.InfoAsync(new InfoRequest { ContainerId = id }, o)).Task;
        Assert.That((info.Status, info.Pid), Is.EqualTo((Api.Types.Status.Running, pid)));
        var rssAfterRestart = Rss(shim);
        await client.Tasks.KillAsync(new KillRequest { ContainerId = id, Signal = 9 }, o);
        var exit = await events.WaitForExitAsync(id, pid);
        var deleted = await client.Tasks.DeleteAsync(new DeleteRequest { ContainerId = id }, o);
        KilledTask.AssertDeleted(id, deleted, pid, exit);

        // The client that comes back later finds what the FIFO held, then EOF: the shim let go.
        var buffer = new byte[64 * 1024];
        long total = 0;
        var read = Task.Factory.StartNew(() =>
        {
            int n;
            while ((n = reader.Read(buffer)) > 0)
                total += n;
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        await read.WaitAsync(TimeSpan.FromSeconds(30));
        TestContext.Progress.WriteLine($"blocked with {last} bytes in the FIFO; shim RSS {Mb(rssBlocked)} blocked, {Mb(rssAfterRestart)} after the daemon's restart");
        Assert.Multiple(() =>
        {
            Assert.That(total, Is.EqualTo(last), "what sat in the FIFO, nothing more");
            Assert.That(rssAfterRestart, Is.LessThanOrEqualTo(rssBlocked + PauseRssBound), "the shim did not grow while blocked");
        });
        await client.Containers.DeleteAsync(new Api.Containers.DeleteContainerRequest { Id = id }, o);
    }

    private sealed record PauseFigures(TimeSpan Duration, int Pending, int Capacity, long WrittenBefore, long WrittenAfter, long RssBefore, long PeakRss);

    private sealed record TransferResult(long Bytes, string Digest, string ContainerDigest, TimeSpan Elapsed, TimeSpan ShimCpu, long IdleRss, long PeakRss, PauseFigures? Pause);

    /// <summary>
    /// Runs a container that sends 100 MB of random bytes to its stdout and their SHA-256 to
    /// its stderr, reads and hashes the stdout FIFO while sampling the shim's RSS every 50 ms,
    /// and, with <paramref name="pauseAt"/>, stops reading for 3 s once that much has arrived.
    /// </summary>
    private async Task<TransferResult> TransferAsync(string id, long? pauseAt)
    {
        using var stdout = new Fifo("stdout");
        using var stderr = new Fifo("stderr");
        var outOpen = FifoReader.OpenAsync(stdout.Path_);
        var digestText = stderr.StartReading();
        await using var events = await Client.SubscribeEventsAsync();
        // tee copies the stream to the container's stdout (fd 3) and hands it on to sha256sum.
        var script = $"exec 3>&1; head -c {HundredMegabytes} /dev/urandom | tee /dev/fd/3 | sha256sum >&2";
        var pid = await Client.CreateTaskAsync(id, ["sh", "-c", script], stdout: stdout.Path_, stderr: stderr.Path_);
        using var reader = await outOpen;
        var shim = Probe.ShimPid(Daemon, Client.Namespace, id);
        // Idle: the shim has created the container and started its copy threads, no data yet.
        var idleRss = Rss(shim);
        var cpuBefore = CpuTime(shim);
        using var sampler = new RssSampler(shim);

        var paused = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var resume = new ManualResetEventSlim(false);
        var clock = new Stopwatch();
        var read = Task.Factory.StartNew(() =>
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[64 * 1024];
            long total = 0;
            var pending = pauseAt;
            while (true)
            {
                var n = reader.Read(buffer);
                if (n == 0)
                    break;
                if (total == 0)
                    clock.Start();
                hash.AppendData(buffer, 0, n);
                total += n;
                if (pending is { } at && total >= at)
                {
                    pending = null;
                    clock.Stop();
                    paused.TrySetResult();
                    resume.Wait();
                    clock.Start();
                }
            }
            clock.Stop();
            return (Total: total, Digest: Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant());
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        PauseFigures? pause = null;
        Api.Types.Event exit;
        (long Total, string Digest) received;
        string containerDigest;
        try
        {
            await Client.Tasks.StartAsync(new StartRequest { ContainerId = id }, Client.Options());
            if (pauseAt is not null)
            {
                await paused.Task.WaitAsync(TimeSpan.FromSeconds(60));
                pause = await StallAsync(pid, reader, sampler, shim);
                resume.Set();
            }
            exit = await events.WaitForExitAsync(id, pid);
            received = await read.WaitAsync(TimeSpan.FromSeconds(60));
            containerDigest = (await digestText.WaitAsync(TimeSpan.FromSeconds(30))).Split(' ')[0];
        }
        catch
        {
            // The reader must not stay parked, and a task left running would add a leak report
            // to the real failure; a failed removal is the leak check's to report.
            resume.Set();
            await Client.RemoveAsync(id).ContinueWith(_ => { }, TaskScheduler.Default);
            throw;
        }
        var (total, digest) = received;
        var shimCpu = CpuTime(shim) - cpuBefore;
        sampler.Dispose();
        var peak = sampler.Peak;
        await Client.RemoveAsync(id);
        Assert.That(exit.ExitStatus, Is.EqualTo(0u), "the pipeline in the container succeeded");
        return new TransferResult(total, digest, containerDigest, clock.Elapsed, shimCpu, idleRss, peak, pause);
    }

    /// <summary>
    /// With the reader stopped: waits until the pipeline has come to rest (the FIFO's fill and
    /// tee's written-byte count stop changing), then watches for 3 s whether anything moves.
    /// </summary>
    private static async Task<PauseFigures> StallAsync(uint init, FifoReader reader, RssSampler sampler, int shim)
    {
        var head = ContainerChild(init, "head");
        var tee = ContainerChild(init, "tee");
        var last = (Pending: -1, Written: -1L);
        var steady = 0;
        // At rest: nothing moved for a few samples and both writers sleep (a process merely
        // starved of CPU on this shared machine would be runnable, 'R').
        await Probe.UntilAsync(() =>
        {
            if (!Probe.IsAlive((uint)head) || !Probe.IsAlive((uint)tee))
                Assert.Fail("the container's pipeline ran on to its end while the client was not reading");
            var now = (reader.Pending, WrittenBytes(tee));
            steady = now == last && State(head) == 'S' && State(tee) == 'S' ? steady + 1 : 0;
            last = now;
            return steady >= 5;
        }, "the stalled pipeline to come to rest");

        var rssBefore = Rss(shim);
        sampler.ResetPeak();
        var clock = Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(3));
        return new PauseFigures(clock.Elapsed, reader.Pending, reader.Capacity, last.Written, WrittenBytes(tee), rssBefore, sampler.Peak);
    }

    /// <summary>The pid of the init's child named <paramref name="comm"/> (the container's processes are visible from the host).</summary>
    private static int ContainerChild(uint init, string comm)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
                continue;
            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(dir, "stat"));
            }
            catch (IOException)
            {
                continue;
            }
            var close = stat.LastIndexOf(')');
            var name = stat[(stat.IndexOf('(') + 1)..close];
            var parent = stat[(close + 2)..].Split(' ')[1];
            if (name == comm && parent == init.ToString(CultureInfo.InvariantCulture))
                return pid;
        }
        throw new InvalidOperationException($"no {comm} under pid {init}");
    }

    /// <summary>User plus system time of a process (utime and stime of /proc/PID/stat, in clock ticks of 10 ms).</summary>
    private static TimeSpan CpuTime(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromMilliseconds(ticks * 10);
    }

    /// <summary>The state letter of /proc/PID/stat ('R' running, 'S' sleeping, …).</summary>
    private static char State(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        return stat[stat.LastIndexOf(')') + 2];
    }

    /// <summary>wchar of /proc/PID/io: the bytes the process has passed to write(2) so far.</summary>
    private static long WrittenBytes(int pid) =>
        long.Parse(File.ReadLines($"/proc/{pid}/io").Single(l => l.StartsWith("wchar:", StringComparison.Ordinal))[6..].Trim(), CultureInfo.InvariantCulture);

    /// <summary>VmRSS of /proc/PID/status, in bytes.</summary>
    private static long Rss(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").Single(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
    }

    private static string Mb(long bytes) => $"{bytes / 1048576.0:F1} MB";

    private static string TempDir()
    {
        var dir = Path.Combine("/tmp", "ctdo-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static readonly byte[] AllBytes = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();

    // printf's octal escapes for bytes 0..255, for a shell's single-quoted string.
    private static readonly string AllBytesEscaped = string.Concat(AllBytes.Select(b => "\\" + Convert.ToString(b, 8).PadLeft(3, '0')));

    /// <summary>Samples a process's RSS every 50 ms on its own thread and keeps the peak.</summary>
    private sealed class RssSampler : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private long _peak;
        private int _disposed;

        public RssSampler(int pid)
        {
            _peak = Rss(pid);
            _loop = Task.Factory.StartNew(() =>
            {
                while (!_stop.Token.WaitHandle.WaitOne(50))
                {
                    try
                    {
                        var rss = Rss(pid);
                        long seen;
                        while (rss > (seen = Interlocked.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, rss, seen) != seen)
                        {
                        }
                    }
                    catch (Exception e) when (e is IOException or InvalidOperationException)
                    {
                        return; // the shim has exited (a zombie's status has no VmRSS)
                    }
                }
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }

        public long Peak => Interlocked.Read(ref _peak);

        public void ResetPeak() => Interlocked.Exchange(ref _peak, 0);

        /// <summary>Stops sampling; the peak stays readable. Idempotent.</summary>
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
                return;
            _stop.Cancel();
            _loop.Wait();
            _stop.Dispose();
        }
    }

    /// <summary>The reading end of an output FIFO, read at the test's own pace with plain read(2).</summary>
    private sealed unsafe partial class FifoReader : IDisposable
    {
        private const int F_GETPIPE_SZ = 1032;
        private const nuint FIONREAD = 0x541B;
        private int _fd;

        private FifoReader(int fd) => _fd = fd;

        /// <summary>The open blocks until the shim opens its side (at Create): start it before, await it after.</summary>
        public static Task<FifoReader> OpenAsync(string path) => Task.Factory.StartNew(() =>
        {
            var fd = Libc.Open(path, Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
            if (fd < 0)
                throw new IOException($"open {path}: {Libc.ErrorText(Libc.LastError)}");
            return new FifoReader(fd);
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        /// <summary>Blocks until there is data; 0 at EOF (the shim closed its side).</summary>
        public int Read(byte[] buffer)
        {
            while (true)
            {
                nint n;
                fixed (byte* p = buffer)
                    n = Libc.Read(_fd, p, buffer.Length);
                if (n >= 0)
                    return (int)n;
                if (Libc.LastError != Libc.EINTR)
                    throw new IOException($"read: {Libc.ErrorText(Libc.LastError)}");
            }
        }

        /// <summary>Bytes in the FIFO not read yet.</summary>
        public int Pending
        {
            get
            {
                int count;
                return Ioctl(_fd, FIONREAD, &count) == 0 ? count : throw new IOException($"FIONREAD: {Libc.ErrorText(Libc.LastError)}");
            }
        }

        /// <summary>The most the FIFO holds.</summary>
        public int Capacity => Libc.Fcntl(_fd, F_GETPIPE_SZ, 0);

        public void Dispose()
        {
            if (_fd >= 0)
                Libc.Close(_fd);
            _fd = -1;
        }

        [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
        private static partial int Ioctl(int fd, nuint request, int* argument);
    }

    /// <summary>Everything read from a FIFO until EOF, on its own thread.</summary>
    private sealed class Collected
    {
        private readonly MemoryStream _data = new();

        public Collected(FifoReader reader)
        {
            Completion = Task.Factory.StartNew(() =>
            {
                var buffer = new byte[4096];
                int n;
                while ((n = reader.Read(buffer)) > 0)
                {
                    lock (_data)
                        _data.Write(buffer, 0, n);
                }
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }

        public Task Completion { get; }

        public string Text
        {
            get
            {
                lock (_data)
                    return Encoding.UTF8.GetString(_data.GetBuffer(), 0, (int)_data.Length);
            }
        }
    }

    /// <summary>
    /// Reads "line-N" lines until EOF, checking as they come that N runs 0, 1, 2, … with no
    /// gap, repeat or torn line; keeps the count and the first deviation, not the lines.
    /// </summary>
    private sealed class LineSequence
    {
        private long _count;

        public LineSequence(FifoReader reader)
        {
            Completion = Task.Factory.StartNew(() =>
            {
                var buffer = new byte[64 * 1024];
                var line = new StringBuilder();
                int n;
                while ((n = reader.Read(buffer)) > 0)
                {
                    for (var i = 0; i < n; i++)
                    {
                        if (buffer[i] != (byte)'\n')
                        {
                            line.Append((char)buffer[i]);
                            continue;
                        }
                        var expected = $"line-{Interlocked.Read(ref _count)}";
                        if (Error is null && line.ToString() != expected)
                            Error = $"after {_count} lines: \"{line}\", expected \"{expected}\"";
                        line.Clear();
                        Interlocked.Increment(ref _count);
                    }
                }
                Partial = line.ToString();
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }

        public long Count => Interlocked.Read(ref _count);

        public Task Completion { get; }

        /// <summary>The first line out of sequence, with its position; null while all are in order.</summary>
        public string? Error { get; private set; }

        /// <summary>What followed the last newline at EOF.</summary>
        public string Partial { get; private set; } = "";
    }
}
