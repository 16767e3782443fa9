using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Containerd.Api.Execution;
using Containerd.Shared.Native;
using Containerd.Tests.Support;
using Grpc.Core;
using Task = System.Threading.Tasks.Task;

namespace Containerd.Tests.Integration;

/// <summary>
/// The daemon's configuration file (--config): its keys are used, flags beat it, and a
/// file the daemon cannot use stops it with one line naming the file, the line and the key.
/// These start the daemon themselves, since the common fixture passes every path as a flag.
/// </summary>
[TestFixture]
public sealed class ConfigFileTests
{
    private string _dir = null!;

    [SetUp]
    public void CreateDirectory()
    {
        _dir = Path.Combine("/tmp", "ctdc-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void RemoveDirectory()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // A daemon a failed test could not stop may still hold it; /tmp is cleaned anyway.
        }
    }

    [Test]
    public async Task The_file_sets_address_root_and_state_and_a_flag_beats_it()
    {
        var config = Write("config.toml", $"""
            # written by ConfigFileTests
            address = "{_dir}/file.sock"
            root = "{_dir}/file-root"
            state = "{_dir}/file-state"
            log_level = "debug"

            [timeouts]
            host_shutdown = "4s"
            """);
        var flagRoot = Path.Combine(_dir, "flag-root");
        await using var daemon = await RunningDaemon.StartAsync(Path.Combine(_dir, "file.sock"), "--config", config, "--root", flagRoot);

        using (var client = new DaemonClient(Path.Combine(_dir, "file.sock"), "config"))
        {
            var pid = await client.RunAsync("cfg1", "sleep", "60");
            Assert.Multiple(() =>
            {
                Assert.That(pid, Is.GreaterThan(0u));
                Assert.That(Directory.Exists(Path.Combine(_dir, "file-state", "tasks", "config", "cfg1")), "the task's bundle is under the file's state");
                Assert.That(File.Exists(Path.Combine(flagRoot, "meta.db")), "--root beats the file's root");
                Assert.That(Directory.Exists(Path.Combine(_dir, "file-root")), Is.False, "the file's root is overridden");
                Assert.That(daemon.Log, Does.Contain($"config {config}"), "the daemon logs which file it read");
                Assert.That(daemon.Log, Does.Contain("dbug:"), "log_level = debug from the file");
            });
            await client.RemoveAsync("cfg1");
        }
        Assert.That(await daemon.StopAsync(), Is.EqualTo(0), daemon.Log);
    }

    [Test]
    public async Task A_timeout_from_the_file_is_the_one_the_daemon_waits()
    {
        // A shim that never reports ready: Create fails after timeouts.shim_ready, not the 10 s default.
        var shim = Write("never-ready-shim", "#!/bin/sh\n[ \"$1\" = delete ] && exit 0\nexec sleep 60\n");
        File.SetUnixFileMode(shim, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var address = Path.Combine(_dir, "c.sock");
        var config = Write("config.toml", $"""
            address = "{address}"
            root = "{_dir}/root"
            state = "{_dir}/state"
            shim = "{shim}"

            [timeouts]
            shim_ready = "1s"
            shim_delete = "5s"
            """);
        await using var daemon = await RunningDaemon.StartAsync(address, "--config", config);

        using (var client = new DaemonClient(address, "config"))
        {
            await client.CreateContainerAsync("slow", "true");
            var clock = Stopwatch.StartNew();
            var error = Assert.ThrowsAsync<RpcException>(() => client.Tasks.CreateAsync(DaemonClient.CreateTaskRequest("slow"), client.Options()).ResponseAsync)!;
            Assert.Multiple(() =>
            {
                Assert.That(error.Status.Detail, Does.Contain("did not report ready within 1 s"));
                Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(8)), "well before the 10 s default");
            });
            await client.Containers.DeleteAsync(new Containerd.Api.Containers.DeleteContainerRequest { Id = "slow" }, client.Options());
        }
        Assert.That(await daemon.StopAsync(), Is.EqualTo(0), daemon.Log);
    }

    [Test]
    public async Task An_unknown_key_stops_the_daemon_with_one_line_naming_file_line_and_key()
    {
        var config = Write("config.toml", $"""
            root = "{_dir}/root"
            state = "{_dir}/state"
            adress = "{_dir}/c.sock"
            """);
        var (code, stdout, stderr) = await RunAsync("--config", config);
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.Not.EqualTo(0));
            Assert.That(stderr, Is.EqualTo($"containerd: {config}:3: unknown key \"adress\"\n"));
            Assert.That(stdout, Is.Empty);
            Assert.That(Directory.Exists(Path.Combine(_dir, "state")), Is.False, "nothing was started");
        });
    }

    [Test]
    public async Task A_bad_value_and_a_missing_named_file_are_errors_too()
    {
        var config = Write("config.toml", "[timeouts]\n\nshim_ready = \"abc\"\n");
        var (code, _, stderr) = await RunAsync("--config", config);
        Assert.That((code, stderr), Is.EqualTo((2, $"containerd: {config}:3: timeouts.shim_ready: \"abc\" is not a duration\n")));

        var missing = Path.Combine(_dir, "missing.toml");
        (code, _, stderr) = await RunAsync("--config", missing);
        Assert.That((code, stderr), Is.EqualTo((2, $"containerd: {missing}: no such file\n")));
    }

    [Test]
    public async Task Config_default_prints_a_file_the_daemon_accepts()
    {
        var (code, stdout, stderr) = await RunAsync("config", "default");
        Assert.That((code, stderr), Is.EqualTo((0, "")));
        Assert.That(stdout, Does.Contain("[timeouts]").And.Contain("shim_ready = \"10s\"").And.Contain("address = \"/run/containerd-cs/containerd.sock\""));

        // The printed defaults, with the paths moved into the test's directory, start a daemon.
        var address = Path.Combine(_dir, "d.sock");
        var edited = stdout
            .Replace("\"/run/containerd-cs/containerd.sock\"", $"\"{address}\"", StringComparison.Ordinal)
            .Replace("\"/var/lib/containerd-cs\"", $"\"{_dir}/root\"", StringComparison.Ordinal)
            .Replace("\"/run/containerd-cs\"", $"\"{_dir}/state\"", StringComparison.Ordinal);
        var config = Write("config.toml", edited);
        await using var daemon = await RunningDaemon.StartAsync(address, "--config", config, "--shim", TestPaths.Shim);
        Assert.That(await daemon.StopAsync(), Is.EqualTo(0), daemon.Log);
    }

    [Test]
    public async Task Make_install_writes_the_default_file_only_where_there_is_none_and_keeps_an_edited_one()
    {
        var destdir = Path.Combine(_dir, "destdir");
        var config = Path.Combine(destdir, "etc/containerd-cs/config.toml");
        var (_, defaults, _) = await RunAsync("config", "default");

        await MakeAsync("install", destdir);
        Assert.That(File.ReadAllText(config), Is.EqualTo(defaults));

        var edited = defaults.Replace("log_level = \"info\"", "log_level = \"debug\"", StringComparison.Ordinal);
        File.WriteAllText(config, edited);
        await MakeAsync("install", destdir);
        Assert.That(File.ReadAllText(config), Is.EqualTo(edited), "install never replaces an operator's file");

        await MakeAsync("uninstall", destdir);
        Assert.That(File.ReadAllText(config), Is.EqualTo(edited), "uninstall keeps an edited file");
    }

    private static async Task MakeAsync(string target, string destdir)
    {
        var info = new ProcessStartInfo("make") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "-s", "-C", TestPaths.RepoRoot, target, "DESTDIR=" + destdir, "BIN=" + TestPaths.BinDir })
            info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        Assert.That(process.ExitCode, Is.EqualTo(0), $"make {target}: {await stdout}{await stderr}");
    }

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static async Task<(int Code, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        var info = new ProcessStartInfo(TestPaths.Daemon) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>A daemon started with exactly the given arguments, serving on <c>address</c>.</summary>
    private sealed class RunningDaemon : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _log = new();

        private RunningDaemon(Process process) => _process = process;

        public string Log
        {
            get
            {
                lock (_log)
                    return _log.ToString();
            }
        }

        public static async Task<RunningDaemon> StartAsync(string address, params string[] args)
        {
            var info = new ProcessStartInfo(TestPaths.Daemon) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in args)
                info.ArgumentList.Add(arg);
            info.Environment.Remove("NOTIFY_SOCKET");
            var process = new Process { StartInfo = info };
            var daemon = new RunningDaemon(process);
            process.OutputDataReceived += (_, e) => daemon.Append(e.Data);
            process.ErrorDataReceived += (_, e) => daemon.Append(e.Data);
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (DateTime.UtcNow < deadline)
            {
                if (process.HasExited)
                    throw new InvalidOperationException($"daemon exited with {process.ExitCode}:\n{daemon.Log}");
                if (CanConnect(address))
                    return daemon;
                await Task.Delay(50);
            }
            await daemon.DisposeAsync();
            throw new TimeoutException($"daemon did not listen on {address}:\n{daemon.Log}");
        }

        /// <summary>SIGTERM and wait; returns the exit code.</summary>
        public async Task<int> StopAsync()
        {
            if (!_process.HasExited)
                Libc.Kill(_process.Id, 15);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await _process.WaitForExitAsync(timeout.Token);
            return _process.ExitCode;
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                await _process.WaitForExitAsync();
            }
            _process.Dispose();
        }

        private void Append(string? line)
        {
            if (line is null)
                return;
            lock (_log)
                _log.AppendLine(line);
        }

        private static bool CanConnect(string address)
        {
            if (!File.Exists(address))
                return false;
            try
            {
                using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                socket.Connect(new UnixDomainSocketEndPoint(address));
                return true;
            }
            catch (SocketException)
            {
                return false;
            }
        }
    }
}
