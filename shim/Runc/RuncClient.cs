using System.Globalization;
using System.Text;
using Containerd.Shared.Bundles;
using Containerd.Shared.Native;
using Containerd.Shim.Native;
using Containerd.Shim.Reaper;
using Microsoft.Extensions.Logging;

namespace Containerd.Shim.Runc;

/// <summary>
/// Runs <c>runc --root R --log BUNDLE/runc-log.N.json --log-format json CMD</c>.
/// Calls run concurrently: each has its own log file (N unique per call,
/// see <see cref="TaskBundle.RuncCallLogFile"/>), removed once the call
/// returned, so a hung runc blocks only its own caller and a failure reads
/// only its own words. Output is captured in memfds rather than pipes, so no
/// reader thread is needed and a chatty runc can never block on a full pipe.
/// </summary>
internal sealed class RuncClient
{
    private readonly string _runtime;
    private readonly string _root;
    private readonly TaskBundle _bundle;
    private readonly ProcessSpawner _spawner;
    private readonly ChildReaper _reaper;
    private readonly ILogger _logger;
    private long _calls;

    /// <param name="runtime">The runc binary (searched on PATH).</param>
    /// <param name="root">runc's state root (--root).</param>
    /// <param name="bundle">Where each call's --log file goes.</param>
    public RuncClient(string runtime, string root, TaskBundle bundle, ProcessSpawner spawner, ChildReaper reaper, ILogger<RuncClient> logger)
    {
        _runtime = runtime;
        _root = root;
        _bundle = bundle;
        _spawner = spawner;
        _reaper = reaper;
        _logger = logger;
    }

    /// <summary><c>runc create</c>; returns when the init process waits for <c>runc start</c>.</summary>
    public Task CreateAsync(string id, string bundle, string pidFile, IRuncStdio stdio) =>
        RunAsync(stdio.ConsoleSocket is { } console
            ? ["create", "--bundle", bundle, "--pid-file", pidFile, "--console-socket", console, id]
            : ["create", "--bundle", bundle, "--pid-file", pidFile, id], stdio);

    public Task StartAsync(string id) => RunAsync(["start", id]);

    /// <summary><c>runc exec --detach</c>; returns once the process runs (its pid is in the pid file).</summary>
    public Task ExecAsync(string id, string processFile, string pidFile, IRuncStdio stdio) =>
        RunAsync(stdio.ConsoleSocket is { } console
            ? ["exec", "--detach", "--pid-file", pidFile, "--console-socket", console, "--process", processFile, id]
            : ["exec", "--detach", "--pid-file", pidFile, "--process", processFile, id], stdio);

    public Task KillAsync(string id, int signal, bool all) =>
        RunAsync(all
            ? ["kill", "--all", id, signal.ToString(CultureInfo.InvariantCulture)]
            : ["kill", id, signal.ToString(CultureInfo.InvariantCulture)]);

    public Task PauseAsync(string id) => RunAsync(["pause", id]);

    /// <summary><c>runc update --resources - ID</c>, the OCI LinuxResources JSON on its stdin.</summary>
    public Task UpdateAsync(string id, byte[] resourcesJson) => RunAsync(["update", "--resources", "-", id], input: resourcesJson);

    /// <summary><c>runc checkpoint</c>; a CRIU failure carries CRIU's own reason from its log.</summary>
    public async Task CheckpointAsync(string id, CheckpointOptions options)
    {
        try
        {
            await RunAsync(CriuArguments.Checkpoint(id, options)).ConfigureAwait(false);
        }
        catch (RuncException e)
        {
            throw CriuLog.Explain(e, options.WorkPath);
        }
    }

    /// <summary>
    /// <c>runc restore --detach</c>; returns once the restored init runs (its
    /// pid in the pid file). A CRIU failure carries CRIU's own reason from its log.
    /// </summary>
    public async Task RestoreAsync(string id, RestoreOptions options, IRuncStdio? stdio)
    {
        try
        {
            await RunAsync(CriuArguments.Restore(id, options, stdio?.ConsoleSocket), stdio).ConfigureAwait(false);
        }
        catch (RuncException e)
        {
            throw CriuLog.Explain(e, options.WorkPath);
        }
    }

    public Task ResumeAsync(string id) => RunAsync(["resume", id]);

    public Task DeleteAsync(string id, bool force) =>
        RunAsync(force ? ["delete", "--force", id] : ["delete", id]);

    public async Task<List<int>> PsAsync(string id)
    {
        var output = await RunAsync(["ps", "--format", "json", id], captureStdout: true).ConfigureAwait(false);
        return RuncLog.ParsePids(output);
    }

    /// <summary>
    /// The container's status word as runc sees it (created, running, paused,
    /// stopped, ...); null when runc printed none. Only the delete sub-command
    /// asks: a live shim knows its container's state from its own bookkeeping.
    /// </summary>
    public async Task<string?> StateAsync(string id)
    {
        var output = await RunAsync(["state", id], captureStdout: true).ConfigureAwait(false);
        return RuncLog.ParseStateStatus(output);
    }

    // Deliberately not cancellable: abandoning runc half-way (a client gave up
    // waiting) would leave a container half-made; every runc command ends by itself.
    private async Task<byte[]> RunAsync(string[] command, IRuncStdio? stdio = null, bool captureStdout = false, byte[]? input = null)
    {
        var logPath = NextLogFile();
        var argv = new List<string>(command.Length + 7)
        {
            _runtime, "--root", _root, "--log", logPath, "--log-format", "json",
        };
        argv.AddRange(command);

        var devNull = -1;
        var stdin = -1;
        var stdout = -1;
        var stderr = -1;
        try
        {
            var logWriteError = CreateLog(logPath);
            // With a terminal the container's stdio is the pty, not runc's: runc gets
            // /dev/null and captured output, so its failures still carry its words.
            var ownStdio = stdio is not null && stdio.ConsoleSocket is null;
            if (!ownStdio)
            {
                devNull = Open("/dev/null", Libc.O_RDWR);
                stdout = MemFd("runc-stdout");
                stderr = MemFd("runc-stderr");
                // A memfd rather than a pipe: written whole before runc starts, so nobody has to feed it.
                if (input is not null)
                    stdin = InputFd(input);
            }

            int pid;
            Task<ProcessExit> exited;
            try
            {
                pid = ownStdio
                    ? _reaper.Spawn(() => _spawner.Spawn(_runtime, argv, stdio!.ChildStdin, stdio.ChildStdout, stdio.ChildStderr), out exited)
                    : _reaper.Spawn(() => _spawner.Spawn(_runtime, argv, stdin >= 0 ? stdin : devNull, stdout, stderr), out exited);
            }
            catch (SpawnException e)
            {
                throw new RuncException(command[0], $"cannot run runtime {_runtime}: {Libc.ErrorText(e.Errno)}", -1);
            }
            finally
            {
                stdio?.OnSpawned();
            }

            var exit = await exited.ConfigureAwait(false);
            if (exit.Status != 0)
            {
                var words = RuncFailure.Describe(command[0], exit.Status, LogWords(logPath), StderrText(stderr), logWriteError);
                _logger.LogDebug("runc {Command} failed ({Status}): {Error}", command[0], exit.Status, words);
                throw new RuncException(command[0], words, exit.Status);
            }
            _logger.LogTrace("runc {Command} {Pid} done", command[0], pid);
            return captureStdout ? ReadAll(stdout) : [];
        }
        finally
        {
            Posix.CloseQuietly(ref devNull);
            Posix.CloseQuietly(ref stdin);
            Posix.CloseQuietly(ref stdout);
            Posix.CloseQuietly(ref stderr);
            DeleteLog(logPath);
        }
    }

    /// <summary>A --log file of its own for the next call: unique among this client's calls, concurrent ones included.</summary>
    internal string NextLogFile() => _bundle.RuncCallLogFile(Interlocked.Increment(ref _calls));

    private string? LogWords(string logPath)
    {
        try
        {
            return File.Exists(logPath) ? RuncLog.LastError(File.ReadAllBytes(logPath)) : null;
        }
        catch (IOException e)
        {
            _logger.LogDebug("cannot read runc log: {Error}", e.Message);
            return null;
        }
    }

    private static string? StderrText(int stderrFd) =>
        stderrFd < 0 ? null : Encoding.UTF8.GetString(ReadAll(stderrFd));

    /// <summary>Creates the call's empty log; the reason when it cannot (e.g. ENOSPC), else null.</summary>
    private static string? CreateLog(string logPath)
    {
        var fd = Libc.Open(logPath, Libc.O_WRONLY | Libc.O_CREAT | Libc.O_TRUNC | Libc.O_CLOEXEC, 0x180);
        if (fd < 0)
            return $"cannot create runc log {logPath}: {Libc.ErrorText(Libc.LastError)}";
        Libc.Close(fd);
        return null;
    }

    private void DeleteLog(string logPath)
    {
        try
        {
            File.Delete(logPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _logger.LogDebug("cannot remove runc log {Path}: {Error}", logPath, e.Message);
        }
    }

    private static int Open(string path, int flags)
    {
        var fd = Libc.Open(path, flags | Libc.O_CLOEXEC, 0);
        if (fd < 0)
            throw new IOException($"cannot open {path}: {Libc.ErrorText(Libc.LastError)}");
        return fd;
    }

    private static int MemFd(string name)
    {
        var fd = Posix.MemFdCreate(name, Posix.MFD_CLOEXEC);
        if (fd < 0)
            throw new IOException($"memfd_create: {Libc.ErrorText(Libc.LastError)}");
        return fd;
    }

    /// <summary>A memfd holding <paramref name="input"/>, its offset still at 0 (pwrite), for a child to read as stdin.</summary>
    private static unsafe int InputFd(byte[] input)
    {
        var fd = MemFd("runc-stdin");
        fixed (byte* data = input)
        {
            long written = 0;
            while (written < input.Length)
            {
                var n = Posix.PWrite(fd, data + written, (nint)(input.Length - written), written);
                if (n < 0 && Libc.LastError == Libc.EINTR)
                    continue;
                if (n <= 0)
                {
                    var error = Libc.LastError;
                    Libc.Close(fd);
                    throw new IOException($"cannot write runc's input: {Libc.ErrorText(error)}");
                }
                written += n;
            }
        }
        return fd;
    }

    private static unsafe byte[] ReadAll(int fd)
    {
        var result = new MemoryStream();
        var buffer = stackalloc byte[4096];
        long offset = 0;
        while (true)
        {
            var n = Posix.PRead(fd, buffer, 4096, offset);
            if (n < 0 && Libc.LastError == Libc.EINTR)
                continue;
            if (n <= 0)
                break;
            result.Write(new ReadOnlySpan<byte>(buffer, (int)n));
            offset += n;
        }
        return result.ToArray();
    }
}
