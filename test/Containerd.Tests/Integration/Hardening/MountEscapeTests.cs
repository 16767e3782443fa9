using System.Diagnostics;
using Containerd.Api.Containers;
using Containerd.Api.Execution;
using Containerd.Shared.Native;
using Containerd.Tests.Support;
using Grpc.Core;
using Mount = Containerd.Api.Types.Mount;
using Task = System.Threading.Tasks.Task;

namespace Containerd.Tests.Integration.Hardening;

/// <summary>
/// A rootfs mount's target never leaves the rootfs: symlinks in a hostile rootfs resolve as
/// if the rootfs were <c>/</c>, a target whose <c>..</c> climbs out is InvalidArgument, and
/// the shim mounts in a mount namespace of its own, so the host's mount table never shows
/// a task's mounts, whether the shim exits or is killed.
/// </summary>
[TestFixture]
public sealed class MountEscapeTests : DaemonFixture
{
    // A hostile rootfs (a private copy of the busybox one, which must never change) and the
    // host directory its symlinks point at, both in a temporary directory this test owns.
    private string _dir = null!;
    private string _rootfs = null!;
    private string _host = null!;

    [SetUp]
    public void CreateHostileRootfs()
    {
        _dir = Directory.CreateTempSubdirectory("mount-escape-").FullName;
        _rootfs = Path.Combine(_dir, "rootfs");
        _host = Directory.CreateDirectory(Path.Combine(_dir, "host")).FullName;
        File.WriteAllText(Path.Combine(_host, "marker"), "host");
        Run("cp", "-a", TestPaths.Rootfs + "/.", _rootfs + "/");
    }

    [TearDown]
    public void RemoveHostileRootfs()
    {
        // Were a mount to have escaped, it must not make the removal reach into it or fail.
        MountTable.DetachAllUnder(_dir);
        Directory.Delete(_dir, recursive: true);
    }

    [Test]
    public async Task AnAbsoluteSymlinkResolvesInsideTheRootfs()
    {
        File.CreateSymbolicLink(Path.Combine(_rootfs, "evil"), _host);

        await CreateAsync("abs", "evil");

        AssertLandedInside("abs", _host);
        AssertHostUntouched("abs");
        await Client.RemoveAsync("abs");
        AssertHostUntouched("abs");
    }

    [Test]
    public async Task ARelativeChainOfDotsIsClampedAtTheRootfs()
    {
        // From BUNDLE/rootfs/evil, on the host, this climbs to / and down to the host directory.
        File.CreateSymbolicLink(Path.Combine(_rootfs, "evil"), string.Concat(Enumerable.Repeat("../", 20)) + _host.TrimStart('/'));

        await CreateAsync("rel", "evil");

        AssertLandedInside("rel", _host);
        AssertHostUntouched("rel");
        await Client.RemoveAsync("rel");
        AssertHostUntouched("rel");
    }

    [Test]
    public async Task AnAbsoluteTargetThroughLinksToAnAbsolutePathStaysInside()
    {
        // /evil -> hop, hop -> an absolute host path: two links, the last absolute.
        File.CreateSymbolicLink(Path.Combine(_rootfs, "hop"), _host);
        File.CreateSymbolicLink(Path.Combine(_rootfs, "evil"), "hop");

        await CreateAsync("absolute-target", "/evil");

        AssertLandedInside("absolute-target", _host);
        AssertHostUntouched("absolute-target");
        await Client.RemoveAsync("absolute-target");
        AssertHostUntouched("absolute-target");
    }

    [Test]
    public async Task AMissingDirectoryBelowALinkIsCreatedInsideTheRootfs()
    {
        File.CreateSymbolicLink(Path.Combine(_rootfs, "evil"), _host);

        await CreateAsync("sub", "evil/sub");

        AssertLandedInside("sub", _host + "/sub");
        Assert.That(Directory.Exists(_rootfs + _host + "/sub"), "sub is created in the rootfs, below its own copy of the path");
        AssertHostUntouched("sub");
        await Client.RemoveAsync("sub");
        AssertHostUntouched("sub");
    }

    [Test]
    public async Task AReadOnlyBindIsRemountedWhereItLandedInsideTheRootfs()
    {
        // ro and rprivate are applied by further mount calls on the new mount: they too must find it inside.
        var source = Directory.CreateDirectory(Path.Combine(_dir, "source")).FullName;
        File.CreateSymbolicLink(Path.Combine(_rootfs, "evil"), _host);
        await Client.CreateContainerAsync("ro", "sleep", "300");
        var request = new CreateRequest { ContainerId = "ro" };
        request.Rootfs.Add(OciSpecs.RootfsBind(_rootfs));
        request.Rootfs.Add(new Mount { Type = "bind", Source = source, Target = "evil", Options = { "rbind", "ro", "rprivate" } });
        await Client.Tasks.CreateAsync(request, Client.Options());

        var shim = Probe.ShimPid(Daemon, Client.Namespace, "ro");
        var inside = Path.Combine(Bundle("ro"), "rootfs") + _host;
        var options = File.ReadLines($"/proc/{shim}/mountinfo").Select(l => l.Split(' '))
            .Where(f => f.Length > 6 && MountTable.Unescape(f[4]) == inside).Select(f => (Options: f[5], Optional: f[6])).ToList();
        Assert.That(options, Has.Count.EqualTo(1), $"one mount on {inside} in the shim's mount table");
        Assert.That(options[0].Options.Split(',')[0], Is.EqualTo("ro"), "remounted read-only");
        Assert.That(options[0].Optional, Is.EqualTo("-"), "private: no shared or master tag");
        AssertHostUntouched("ro");
        await Client.RemoveAsync("ro");
        AssertHostUntouched("ro");
    }

    [TestCase("../x")]
    [TestCase("a/../../x")]
    public async Task ATargetThatClimbsOutOfTheRootfsIsInvalidArgument(string target)
    {
        var failed = Assert.ThrowsAsync<RpcException>(() => CreateAsync("climb", target));

        Assert.Multiple(() =>
        {
            Assert.That(failed!.StatusCode, Is.EqualTo(StatusCode.InvalidArgument), failed.Status.Detail);
            Assert.That(failed.Status.Detail, Does.Contain(target));
            Assert.That(Directory.Exists(Path.Combine(_dir, "x")), Is.False, "nothing is created beside the rootfs");
            Assert.That(Leaks.MountsUnder(Bundle("climb")), Is.Empty);
        });
        await Client.Containers.DeleteAsync(new DeleteContainerRequest { Id = "climb" }, Client.Options());
    }

    [Test]
    public async Task AKilledShimLeavesNothingMountedOnTheHost()
    {
        File.CreateSymbolicLink(Path.Combine(_rootfs, "evil"), _host);
        await CreateAsync("killed", "evil");
        await Client.Tasks.StartAsync(new StartRequest { ContainerId = "killed" }, Client.Options());
        var shim = Probe.ShimPid(Daemon, Client.Namespace, "killed");

        Libc.Kill(shim, 9);
        Assert.That(await ProcessExit.WaitAsync(shim, TimeSpan.FromSeconds(30)), "the shim died");
        var deleted = await Client.Tasks.DeleteAsync(new DeleteRequest { ContainerId = "killed" }, Client.Options());
        await Client.Containers.DeleteAsync(new DeleteContainerRequest { Id = "killed" }, Client.Options());

        Assert.That(deleted.ExitStatus, Is.EqualTo(137u));
        AssertHostUntouched("killed");
        Assert.That(Directory.Exists(Bundle("killed")), Is.False, "the bundle is removed");
    }

    [Test]
    public async Task TheShimsMountsAreNotInTheHostsMountTable()
    {
        await Client.RunAsync("hidden", "sleep", "300");
        var bundle = Bundle("hidden");
        var shim = Probe.ShimPid(Daemon, Client.Namespace, "hidden");
        var shimMounts = MountPoints($"/proc/{shim}/mountinfo").ToList();

        Assert.Multiple(() =>
        {
            Assert.That(shimMounts, Does.Contain(Path.Combine(bundle, "rootfs")), "the shim sees its rootfs mount");
            Assert.That(MountPoints("/proc/self/mountinfo").Where(m => m.StartsWith(bundle + "/", StringComparison.Ordinal)), Is.Empty,
                "the host sees nothing under the bundle");
            Assert.That(File.ResolveLinkTarget($"/proc/{shim}/ns/mnt", false)?.ToString(),
                Is.Not.EqualTo(File.ResolveLinkTarget("/proc/self/ns/mnt", false)?.ToString()), "the shim has a mount namespace of its own");
            // unshare(1) execs the shim: the pid the daemon started is the shim's own.
            Assert.That(File.ReadAllText(Path.Combine(bundle, "shim.pid")).Trim(), Is.EqualTo(shim.ToString()));
            Assert.That(Path.GetFileName(File.ResolveLinkTarget($"/proc/{shim}/exe", false)?.ToString()), Is.EqualTo("containerd-shim"));
        });
        await Client.RemoveAsync("hidden");
    }

    private async Task CreateAsync(string id, string target)
    {
        await Client.CreateContainerAsync(id, "sleep", "300");
        var request = new CreateRequest { ContainerId = id };
        request.Rootfs.Add(OciSpecs.RootfsBind(_rootfs));
        request.Rootfs.Add(new Mount { Type = "tmpfs", Source = "tmpfs", Target = target, Options = { "size=1m" } });
        await Client.Tasks.CreateAsync(request, Client.Options());
    }

    private string Bundle(string id) => Path.Combine(Daemon.StateDir, "tasks", Client.Namespace, id);

    /// <summary>The tmpfs is in the shim's mount table, on the rootfs' own copy of <paramref name="hostPath"/>.</summary>
    private void AssertLandedInside(string id, string hostPath)
    {
        var shim = Probe.ShimPid(Daemon, Client.Namespace, id);
        var inside = Path.Combine(Bundle(id), "rootfs") + hostPath;
        var tmpfs = File.ReadLines($"/proc/{shim}/mountinfo").Select(l => l.Split(' '))
            .Where(f => f.Length > 4 && MountTable.Unescape(f[4]) == inside && f.SkipWhile(x => x != "-").Skip(1).FirstOrDefault() == "tmpfs");
        Assert.That(tmpfs, Is.Not.Empty, $"{id}: the tmpfs is mounted on {inside} in the shim's mount table");
        Assert.That(Directory.Exists(_rootfs + hostPath), $"{id}: {hostPath} was created inside the rootfs");
    }

    /// <summary>The host directory has its one file and nothing else, and no mount is on it or under the bundle.</summary>
    private void AssertHostUntouched(string id)
    {
        Assert.Multiple(() =>
        {
            Assert.That(Directory.EnumerateFileSystemEntries(_host).Select(Path.GetFileName), Is.EqualTo(new[] { "marker" }),
                $"{id}: the host directory holds only its own file");
            Assert.That(File.ReadAllText(Path.Combine(_host, "marker")), Is.EqualTo("host"));
            var hostMounts = MountPoints("/proc/self/mountinfo").ToList();
            Assert.That(hostMounts.Where(m => m == _host || m.StartsWith(_host + "/", StringComparison.Ordinal)), Is.Empty,
                $"{id}: nothing is mounted on the host directory");
            Assert.That(hostMounts.Where(m => m.StartsWith(Bundle(id) + "/", StringComparison.Ordinal)), Is.Empty,
                $"{id}: the host's mount table shows nothing under the bundle");
        });
    }

    private static IEnumerable<string> MountPoints(string mountinfo) =>
        File.ReadLines(mountinfo).Select(l => l.Split(' ')).Where(f => f.Length > 4).Select(f => MountTable.Unescape(f[4]));

    private static void Run(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardError = true };
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited with {process.ExitCode}: {stderr}");
    }
}
