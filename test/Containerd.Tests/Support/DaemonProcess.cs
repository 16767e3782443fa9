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

    private DaemonProcess(string dir)
    {
        Dir = dir;
    }

    public string Dir { get; }

    public string Address => Path.Combine(Dir, "c.sock");

    public string RootDir => Path.Combine(Dir, "root");

    public string StateDir => Path.Combine(Dir, "state");

    public int Pid => _process?.Id ?? 0;

    public string Log
    {
        get
        {
            lock (_log)
                return _log.ToString();
        }
    }

    public static async Task<DaemonProcess> StartAsync(CancellationToken cancellationToken = default)
    {
        var dir = Path.Combine("/tmp", "ctdt-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        var daemon = new DaemonProcess(dir);
        await daemon.StartProcessAsync(cancellationToken);
        return daemon;
    }

    /// <summary>Starts the daemon again on the same directories (after Stop or Kill).</summary>
    public Task RestartAsync(CancellationToken cancellationToken = default) => StartProcessAsync(cancellationToken);

    private async Task StartProcessAsync(CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(TestPaths.Daemon)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
                 {
                     "--address", Address, "--root", RootDir, "--state", StateDir,
                     "--shim", TestPaths.Shim, "--log-level", "debug",
                 })
        {
            info.ArgumentList.Add(arg);
        }

        var process = new Process { StartInfo = info };
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.Start();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        _process = process;

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
        Libc.Kill(process.Id, 15);
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
        Libc.Kill(process.Id, 9);
        await process.WaitForExitAsync();
    }

    public int? ExitCode => _process is { HasExited: true } p ? p.ExitCode : null;

    public DaemonClient Connect(string ns) => new(Address, ns);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        finally
        {
            Leaks.ForceCleanup(this);
            _process?.Dispose();
            try
            {
                Directory.Delete(Dir, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }
}
