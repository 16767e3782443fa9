using System.Formats.Tar;
using Containerd.Api.Execution;
using Containerd.Daemon.Snapshots;
using Containerd.Tests.Support;
using Task = System.Threading.Tasks.Task;

namespace Containerd.Tests.Integration;

/// <summary>
/// A task on an overlay snapshot: the busybox rootfs tarred into one layer and a
/// second layer with a new file and a whiteout, unpacked by the daemon's own
/// snapshotter and applier, then Tasks.Create with the snapshot's mounts as its
/// rootfs. The container sees the merged tree and writes only to its own layer.
/// </summary>
[TestFixture]
public sealed class SnapshotRootfsTests : DaemonFixture
{
    private const string Tar = "application/vnd.oci.image.layer.v1.tar";

    private string _dir = null!;

    [SetUp]
    public void CreateScratch() => _dir = Directory.CreateTempSubdirectory("snapshot-rootfs-").FullName;

    [TearDown]
    public void RemoveScratch()
    {
        Assert.That(File.ReadAllText("/proc/self/mountinfo"), Does.Not.Contain(_dir), "nothing of the snapshots is mounted on the host");
        Directory.Delete(_dir, recursive: true);
    }

    [Test]
    public async Task A_task_runs_on_a_two_layer_overlay_snapshot()
    {
        var snapshotter = new OverlaySnapshotter(Path.Combine(_dir, "overlayfs"));
        var applier = new LayerApplier();

        var base_ = new MemoryStream();
        await TarFile.CreateFromDirectoryAsync(TestPaths.Rootfs, base_, includeBaseDirectory: false);
        base_.Position = 0;
        await snapshotter.PrepareAsync("extract-1", null, CancellationToken.None);
        await applier.ApplyAsync(base_, Tar, snapshotter.UpperDirectory("extract-1"), [], CancellationToken.None);
        await snapshotter.CommitAsync("layer-1", "extract-1", CancellationToken.None);

        var top = new MemoryStream();
        await using (var writer = new TarWriter(top, TarEntryFormat.Pax, leaveOpen: true))
        {
            var hello = new PaxTarEntry(TarEntryType.RegularFile, "hello.txt") { DataStream = new MemoryStream("from layer 2\n"u8.ToArray()), Mode = (UnixFileMode)0x1a4 };
            await writer.WriteEntryAsync(hello);
            await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, "bin/.wh.vi"));
        }

        top.Position = 0;
        await snapshotter.PrepareAsync("extract-2", "layer-1", CancellationToken.None);
        await applier.ApplyAsync(top, Tar, snapshotter.UpperDirectory("extract-2"), Unpacker.LowerDirectories(snapshotter.Mounts("extract-2")), CancellationToken.None);
        await snapshotter.CommitAsync("layer-2", "extract-2", CancellationToken.None);
        var mounts = await snapshotter.PrepareAsync("container-rootfs", "layer-2", CancellationToken.None);

        await using var events = await Client.SubscribeEventsAsync();
        using var stdout = new Fifo("stdout");
        var outText = stdout.StartReading();
        await Client.CreateContainerAsync("snap", "sh", "-c", "cat /hello.txt; test -e /bin/vi || echo vi-gone; test -x /bin/ls && echo ls-there; echo written > /root/by-container");
        var request = new CreateRequest { ContainerId = "snap", Stdout = stdout.Path_ };
        request.Rootfs.AddRange(mounts);
        var pid = (await Client.Tasks.CreateAsync(request, Client.Options())).Pid;
        await Client.Tasks.StartAsync(new StartRequest { ContainerId = "snap" }, Client.Options());
        var exit = await events.WaitForExitAsync("snap", pid);
        await Client.RemoveAsync("snap");

        Assert.That(await outText.WaitAsync(TimeSpan.FromSeconds(10)), Is.EqualTo("from layer 2\nvi-gone\nls-there\n"));
        Assert.That(exit.ExitStatus, Is.EqualTo(0u));
        string upper = snapshotter.UpperDirectory("container-rootfs");
        Assert.That(File.ReadAllText(Path.Combine(upper, "root", "by-container")), Is.EqualTo("written\n"));
        Assert.That(Directory.EnumerateFileSystemEntries(upper).Select(Path.GetFileName), Is.EqualTo(new[] { "root" }), "the container wrote only its own layer");
        Assert.That(File.Exists(Path.Combine(TestPaths.Rootfs, "root", "by-container")), Is.False);
    }
}
