using Containerd.Daemon.Hosting;
using Containerd.Daemon.Shims;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Containerd.UnitTests.Daemon.Shims;

/// <summary>The daemon's side of <c>containerd-shim delete</c>, against a fake shim (a shell script).</summary>
public sealed class ShimDeleteCommandRunTests
{
    private string _dir = "";

    [SetUp]
    public void CreateDirectory() => _dir = Directory.CreateTempSubdirectory("shim-delete-").FullName;

    [TearDown]
    public void RemoveDirectory() => Directory.Delete(_dir, recursive: true);

    [Test]
    public async Task The_shim_is_called_with_the_contract_and_its_line_is_read()
    {
        var command = CommandWithFakeShim("echo \"$@\" > \"$(dirname \"$0\")/args\"; echo 'running 4242 137'");
        var result = await command.RunAsync("ns", "web", CancellationToken.None);
        Assert.That(result, Is.EqualTo(new ShimDeleteResult("running", 4242, 137)));
        Assert.That(File.ReadAllText(Path.Combine(_dir, "args")).Trim(), Is.EqualTo(
            $"delete --namespace ns --id web --bundle {_dir}/state/tasks/ns/web --runtime-root {_dir}/state/runc/ns " +
            "--runtime /usr/bin/runc --log-level debug"));
    }

    [Test]
    public async Task The_runtime_recorded_in_the_bundle_is_left_to_the_shim()
    {
        var command = CommandWithFakeShim("echo \"$@\" > \"$(dirname \"$0\")/args\"; echo 'none 0 255'");
        var bundle = new StateLayout(Path.Combine(_dir, "state")).Bundle("ns", "web");
        Directory.CreateDirectory(bundle.Directory);
        bundle.WriteRuntime("/usr/bin/crun");
        var result = await command.RunAsync("ns", "web", CancellationToken.None);
        Assert.That(result, Is.EqualTo(new ShimDeleteResult(null, 0, 255)));
        Assert.That(File.ReadAllText(Path.Combine(_dir, "args")), Does.Not.Contain("--runtime "));
    }

    [Test]
    public async Task A_failing_or_garbled_delete_yields_nothing()
    {
        Assert.That(await CommandWithFakeShim("echo 'runc: permission denied' >&2; exit 1").RunAsync("ns", "web", CancellationToken.None), Is.Null);
        Assert.That(await CommandWithFakeShim("echo 'all done'").RunAsync("ns", "web", CancellationToken.None), Is.Null);
    }

    [Test]
    public async Task Without_a_shim_binary_nothing_runs()
    {
        var options = Options(shim: null);
        var command = new ShimDeleteCommand(options, new StateLayout(options.State), NullLogger<ShimDeleteCommand>.Instance);
        Assert.That(await command.RunAsync("ns", "web", CancellationToken.None), Is.Null);
    }

    private ShimDeleteCommand CommandWithFakeShim(string script)
    {
        var shim = Path.Combine(_dir, "containerd-shim");
        File.WriteAllText(shim, "#!/bin/sh\n" + script + "\n");
        File.SetUnixFileMode(shim, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var options = Options(shim);
        return new ShimDeleteCommand(options, new StateLayout(options.State), NullLogger<ShimDeleteCommand>.Instance);
    }

    private DaemonOptions Options(string? shim) => new(
        Address: Path.Combine(_dir, "containerd.sock"),
        Root: Path.Combine(_dir, "root"),
        State: Path.Combine(_dir, "state"),
        Runtime: "/usr/bin/runc",
        Shim: shim,
        LogLevel: LogLevel.Debug,
        LogLevelName: "debug");
}
