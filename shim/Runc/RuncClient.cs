using System.Globalization;
using System.Text;
using Containerd.Shared.Native;
using Containerd.Shim.Native;
using Containerd.Shim.Reaper;
using Microsoft.Extensions.Logging;

namespace Containerd.Shim.Runc;

/// <summary>
/// Runs <c>runc --root R --log BUNDLE/runc-log.json --log-format json CMD</c>.
/// Calls are serialized: they share one log file, which is truncated before
/// each call so it never grows and holds only that call's words. Output is
/// captured in memfds rather than pipes, so no reader thread is needed and a
/// chatty runc can never block on a full pipe.
/// </summary>
internal sealed class RuncClient
{
    private readonly string _runtime;
    private readonly string _root;
    private readonly string _logPath;
    private readonly ProcessSpawner _spawner;
    private readonly ChildReaper _reaper;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _serial = new(1, 1);

    /// <param name="runtime">The runc binary (searched on PATH).</param>
    /// <param name="root">runc's state root (--root).</param>
    /// <param name="logPath">runc's --log file (the bundle's runc-log.json).</param>
    public RuncClient(string runtime, string root, string logPath, ProcessSpawner spawner, ChildReaper reaper, ILogger<RuncClient> logger)
    {
        _runtime = runtime;
        _root = root;
        _logPath = logPath;
        _spawner = spawner;
        _reaper = reaper;
        _logger = logger;
    }

    /// <summary><c>runc create</c>; returns when the init process waits for <c>runc start</c>.</summary>
    public Task CreateAsync(string id, string bundle, string pidFile, IRuncStdio stdio) =>
        RunAsync(["create", "--bundle", bundle, "--pid-file", pidFile, id], stdio);

    public Task StartAsync(string id) => RunAsync(["start", id]);

    /// <summary><c>runc exec --detach</c>; returns once the process runs (its pid is in the pid file).</summary>
    public Task ExecAsync(string id, string processFile, string pidFile, IRuncStdio stdio) =>
        RunAsync(["exec", "--detach", "--pid-file", pidFile, "--process", processFile, id], stdio);

    public Task KillAsync(string id, int signal, bool all) =>
        RunAsync(all
            ? ["kill", "--all", id, signal.ToString(CultureInfo.InvariantCulture)]
            : ["kill", id, signal.ToString(CultureInfo.InvariantCulture)]);

    public Task PauseAsync(string id) => RunAsync(["pause", id]);

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
    private async Task<byte[]> RunAsync(string[] command, IRuncStdio? stdio = null, bool captureStdout = false)
    {
        var argv = new List<string>(command.Length + 7)
        {
            _runtime, "--root", _root, "--log", _logPath, "--log-format", "json",
        };
        argv.AddRange(command);

        await _serial.WaitAsync().ConfigureAwait(false);
        var devNull = -1;
        var stdout = -1;
        var stderr = -1;
        try
        {
            TruncateLog();
            if (stdio is null)
            {
                devNull = Open("/dev/null", Libc.O_RDWR);
                stdout = MemFd("runc-stdout");
                stderr = MemFd("runc-stderr");
            }

            int pid;
            Task<ProcessExit> exited;
            try
            {
                pid = stdio is null
                    ? _reaper.Spawn(() => _spawner.Spawn(_runtime, argv, devNull, stdout, stderr), out exited)
                    : _reaper.Spawn(() => _spawner.Spawn(_runtime, argv, stdio.ChildStdin, stdio.ChildStdout, stdio.ChildStderr), out exited);
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
                var words = ErrorWords(stderr) ?? $"runc {command[0]} exited with status {exit.Status}";
                _logger.LogDebug("runc {Command} failed ({Status}): {Error}", command[0], exit.Status, words);
                throw new RuncException(command[0], words, exit.Status);
            }
            _logger.LogTrace("runc {Command} {Pid} done", command[0], pid);
            return captureStdout ? ReadAll(stdout) : [];
        }
        finally
        {
            Posix.CloseQuietly(ref devNull);
            Posix.CloseQuietly(ref stdout);
            Posix.CloseQuietly(ref stderr);
            _serial.Release();
        }
    }

    private string? ErrorWords(int stderrFd)
    {
        try
        {
            if (File.Exists(_logPath))
            {
                var fromLog = RuncLog.LastError(File.ReadAllBytes(_logPath));
                if (fromLog is not null)
                    return fromLog;
            }
        }
        catch (IOException e)
        {
            _logger.LogDebug("cannot read runc log: {Error}", e.Message);
        }
        if (stderrFd < 0)
            return null;
        var text = Encoding.UTF8.GetString(ReadAll(stderrFd)).Trim();
        return text.Length == 0 ? null : text;
    }

    private void TruncateLog()
    {
        var fd = Libc.Open(_logPath, Libc.O_WRONLY | Libc.O_CREAT | Libc.O_TRUNC | Libc.O_CLOEXEC, 0x180);
        if (fd >= 0)
            Libc.Close(fd);
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
