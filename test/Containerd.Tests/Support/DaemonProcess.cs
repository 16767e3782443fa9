using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Containerd.Shared.Native;

namespace Containerd.Tests.Support;

/// <summary>A real daemon in its own temporary directory (root, state and socket), as a test fixture owns it.</summary>
public sealed class DaemonProcess : IAsyncDisposable
{
    private readonly StringBuilder _log = new();
    private Process? _process;
    private int _daemonPid;

    private DaemonProcess(string dir)
    {
        Dir = dir;
    }

    public string Dir { get; }

    public string Address => Path.Combine(Dir, "c.sock");

    public string RootDir => Path.Combine(Dir, "root");

    public string StateDir => Path.Combine(Dir, "state");

    /// <summary>The daemon's pid (not the pid of a parent it was started under).</summary>
    public int Pid => _daemonPid;

    /// <summary>When the daemon was last started (UTC).</summary>
    public DateTime StartedAt { get; private set; }

    public string Log
    {
        get
        {
            lock (_log)
                return _log.ToString();
        }
    }

    public static Task<DaemonProcess> StartAsync(CancellationToken cancellationToken = default) =>
        StartAsync(new DaemonStartOptions(), cancellationToken);

    public static async Task<DaemonProcess> StartAsync(DaemonStartOptions options, CancellationToken cancellationToken = default)
    {
        var dir = Path.Combine("/tmp", "ctdt-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        var daemon = new DaemonProcess(dir);
        await daemon.StartProcessAsync(options, cancellationToken);
        return daemon;
    }

    /// <summary>Starts the daemon again on the same directories (after Stop or Kill).</summary>
    public Task RestartAsync(CancellationToken cancellationToken = default) => StartProcessAsync(new DaemonStartOptions(), cancellationToken);

    /// <summary>Starts the daemon again on the same directories, with extra environment or a systemd-like parent.</summary>
    public Task RestartAsync(DaemonStartOptions options, CancellationToken cancellationToken = default) =>
        StartProcessAsync(options, cancellationToken);

    private async Task StartProcessAsync(DaemonStartOptions options, CancellationToken cancellationToken)
    {
        // A second daemon on the same root would be refused (root.lock) while the socket
        // still answers from the first: the restart would seem to work and the first
        // daemon would outlive the fixture.
        if (_process is { HasExited: false })
            throw new InvalidOperationException("the daemon is still running: stop or kill it before restarting it");
        string[] daemonArgs =
        [
            TestPaths.Daemon, "--address", Address, "--root", RootDir, "--state", StateDir,
            "--shim", TestPaths.Shim, "--log-level", "debug",
            .. options.Arguments ?? [],
        ];
        ProcessStartInfo info;
        if (options.UnderSystemd)
        {
            // Microsoft.Extensions.Hosting.Systemd turns itself on only when /proc/PPID/comm
            // reads "systemd"; comm is the name of the file the parent executed. A copy of
            // dash under that name runs the daemon as its child and waits for it.
            var parent = Path.Combine(Dir, "systemd");
            if (!File.Exists(parent))
                File.Copy("/bin/dash", parent);
            info = new ProcessStartInfo(parent);
            foreach (var arg in new[] { "-c", "\"$@\" & wait $!", "systemd" })
                info.ArgumentList.Add(arg);
        }
        else
        {
            info = new ProcessStartInfo(TestPaths.Daemon);
            daemonArgs = daemonArgs[1..];
        }
        foreach (var arg in daemonArgs)
            info.ArgumentList.Add(arg);
        info.RedirectStandardError = true;
        info.RedirectStandardOutput = true;
        info.UseShellExecute = false;
        // Never inherit a crash switch or a notify socket from the test's own environment.
        info.Environment.Remove("CONTAINERD_TEST_CRASH_AT");
        info.Environment.Remove("CONTAINERD_TEST_HOLD_AT");
        info.Environment.Remove("NOTIFY_SOCKET");
        foreach (var (name, value) in options.Environment ?? new Dictionary<string, string>())
            info.Environment[name] = value;

        var process = new Process { StartInfo = info };
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.OutputDataReceived += (_, e) => Append(e.Data);
        StartedAt = DateTime.UtcNow;
        process.Start();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        _process?.Dispose();
        _process = process;
        _daemonPid = options.UnderSystemd ? await ChildOfAsync(process, cancellationToken) : process.Id;

        if (!options.WaitForSocket)
            return;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
                throw new InvalidOperationException($"daemon exited with {process.ExitCode} during start-up:\n{Log}");
            if (await CanConnectAsync(cancellationToken))
                return;
            await Task.Delay(50, cancellationToken);
        }
        throw new TimeoutException($"daemon did not listen on {Address} within 30 s:\n{Log}");
    }

    /// <summary>The pid of the one child of <paramref name="parent"/> (the daemon under its wrapper).</summary>
    private static async Task<int> ChildOfAsync(Process parent, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                var children = File.ReadAllText($"/proc/{parent.Id}/task/{parent.Id}/children").Trim();
                if (children.Length > 0)
                    return int.Parse(children.Split(' ')[0]);
            }
            catch (IOException)
            {
            }
            if (parent.HasExited)
                throw new InvalidOperationException($"the daemon's parent exited with {parent.ExitCode}");
            await Task.Delay(5, cancellationToken);
        }
        throw new TimeoutException($"process {parent.Id} started no child");
    }

    /// <summary>Waits for the daemon to exit by itself (e.g. at a crash point); false on timeout.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        if (_process is null)
            return true;
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private void Append(string? line)
    {
        if (line is null)
            return;
        lock (_log)
        {
            _log.AppendLine(line);
            File.AppendAllText(Path.Combine(Dir, "daemon.log"), line + "\n");
        }
    }

    private async Task<bool> CanConnectAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(Address))
            return false;
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(Address), cancellationToken);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Graceful stop: SIGTERM, then wait for the process to exit.</summary>
    public async Task StopAsync()
    {
        if (_process is not { HasExited: false } process)
            return;
        Libc.Kill(Pid, 15);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            await process.WaitForExitAsync();
            throw new TimeoutException("daemon did not exit within 15 s of SIGTERM:\n" + Log);
        }
    }

    /// <summary>Crash: SIGKILL, as a node operator's `kill -9`.</summary>
    public async Task KillAsync()
    {
        if (_process is not { HasExited: false } process)
            return;
        Libc.Kill(Pid, 9);
        await process.WaitForExitAsync();
    }

    public int? ExitCode => _process is { HasExited: true } p ? p.ExitCode : null;

    public DaemonClient Connect(string ns) => new(Address, ns);

    /// <summary>
    /// Stops the daemon, cleans up what it left and removes its directory; every step runs,
    /// and what failed is thrown afterwards with its cause.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        var failures = new List<Exception>();
        try
        {
            await StopAsync();
        }
        catch (Exception e)
        {
            failures.Add(e);
        }
        var unclean = Leaks.ForceCleanup(this);
        if (unclean.Count > 0)
            failures.Add(new InvalidOperationException("forced cleanup failed: " + string.Join("; ", unclean)));
        _process?.Dispose();
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            failures.Add(new IOException($"removing {Dir}: {e.Message}", e));
        }
        if (failures.Count > 0)
            throw new AggregateException($"tearing down the daemon in {Dir} failed: " + string.Join("; ", failures.Select(f => f.Message)), failures);
    }
}
