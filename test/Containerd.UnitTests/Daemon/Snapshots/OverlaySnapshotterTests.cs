using System.Formats.Tar;
using ContentDescriptor = Containerd.Api.Types.ContentDescriptor;
using Containerd.Daemon.Content;
using Containerd.Daemon.Native;
using Containerd.Daemon.Snapshots;

namespace Containerd.UnitTests.Daemon.Snapshots;

/// <summary>
/// The overlay snapshotter and the unpacker on real overlay mounts (run as
/// root): parent chains, commit, views, removal, usage, a restart, and two
/// layers with whiteouts and an opaque directory merged by the kernel. Every
/// mount made here is unmounted in finally.
/// </summary>
public sealed class OverlaySnapshotterTests
{
    private const string Tar = "application/vnd.oci.image.layer.v1.tar";

    private DirectoryInfo _scratch = null!;
    private string _root = null!;
    private OverlaySnapshotter _snapshotter = null!;
    private string _mountPoint = null!;

    [SetUp]
    public void SetUp()
    {
        _scratch = Directory.CreateTempSubdirectory("snap-");
        _root = Path.Combine(_scratch.FullName, "overlayfs");
        _snapshotter = new OverlaySnapshotter(_root);
        _mountPoint = Directory.CreateDirectory(Path.Combine(_scratch.FullName, "mnt")).FullName;
    }

    [TearDown]
    public void TearDown()
    {
        Assert.That(File.ReadAllText("/proc/self/mountinfo"), Does.Not.Contain(_scratch.FullName), "a test left a mount behind");
        _scratch.Delete(recursive: true);
    }

    private static CancellationToken None => CancellationToken.None;

    private async Task<string> ApplyAsync(string key, LayerTar layer)
    {
        using var stream = new MemoryStream(layer.Tar());
        return await new LayerApplier().ApplyAsync(stream, Tar, _snapshotter.UpperDirectory(key), Unpacker.LowerDirectories(_snapshotter.Mounts(key)), None);
    }

    private static string Stat(string path) => TestMounts.Run("stat", "-c", "%u:%g %a %Y", path).Trim();

    [Test]
    public async Task A_directory_a_layer_leaves_out_keeps_the_lower_layers_owner_mode_time_and_xattrs()
    {
        await _snapshotter.PrepareAsync("k1", null, None);
        await ApplyAsync("k1", new LayerTar()
            .Dir("data/", mode: 0x1c0, uid: 1000, gid: 1000, xattrs: new Dictionary<string, string> { ["user.origin"] = "lower" })
            .Dir("data/deep/", mode: 0x1e8, uid: 7, gid: 8).File("data/deep/old", "o")
            .Dir("opq/", uid: 5, gid: 5).Dir("opq/hidden/", uid: 6, gid: 6)
            .Dir("gone/", uid: 9, gid: 9).Symlink("link", _scratch.FullName));
        await _snapshotter.CommitAsync("l1", "k1", None);
        await _snapshotter.PrepareAsync("k2", "l1", None);
        await ApplyAsync("k2", new LayerTar().File("other", "x").Dir("opq/", uid: 4, gid: 4).File("opq/.wh..wh..opq", "").File("gone/.wh..wh..opq", "").File(".wh.gone", ""));
        await _snapshotter.CommitAsync("l2", "k2", None);
        await _snapshotter.PrepareAsync("k3", "l2", None);
        await ApplyAsync("k3", new LayerTar()
            .File("data/file", "new").File("data/deep/new", "n").File("data/fresh/f", "f")
            .File("opq/hidden/f", "f").File("gone/f", "f").File("link/f", "f"));

        // The lower directories' metadata, two layers down; a lower layer's opaque directory,
        // whiteout or symlink stops the search (the symlink's target is never read).
        string upper = _snapshotter.UpperDirectory("k3");
        string lower = Path.Combine(upper, "..", "..", "1", "fs");
        Assert.That(Stat(Path.Combine(upper, "data")), Is.EqualTo(Stat(Path.Combine(lower, "data"))));
        Assert.That(Stat(Path.Combine(upper, "data")), Does.StartWith("1000:1000 700 "));
        Assert.That(FileAt.GetXattr(Path.Combine(upper, "data"), "user.origin"), Is.EqualTo("lower"u8.ToArray()));
        Assert.That(Stat(Path.Combine(upper, "data/deep")), Does.StartWith("7:8 750 "));
        foreach (string plain in new[] { "data/fresh", "opq/hidden", "gone", "link" })
            Assert.That(Stat(Path.Combine(upper, plain)), Does.StartWith("0:0 755 "), plain);
        Assert.That(Stat(Path.Combine(upper, "opq")), Does.StartWith("4:4 755 "), "the nearest lower layer decides");

        await _snapshotter.CommitAsync("l3", "k3", None);
        TestMounts.MountAll(await _snapshotter.ViewAsync("view", "l3", None), _mountPoint);
        try
        {
            Assert.That(Stat(Path.Combine(_mountPoint, "data")), Does.StartWith("1000:1000 700 "));
            Assert.That(Directory.EnumerateFileSystemEntries(Path.Combine(_mountPoint, "data/deep")).Select(Path.GetFileName), Is.EquivalentTo(new[] { "old", "new" }));
        }
        finally
        {
            TestMounts.Unmount(_mountPoint);
        }
    }

    [Test]
    public async Task Prepare_without_a_parent_is_a_writable_bind_of_an_empty_directory()
    {
        var mounts = await _snapshotter.PrepareAsync("a", null, None);

        Assert.That(mounts, Has.Count.EqualTo(1));
        Assert.That(mounts[0].Type, Is.EqualTo("bind"));
        Assert.That(mounts[0].Options, Is.EqualTo(new[] { "rw", "rbind" }));
        Assert.That(mounts[0].Source, Is.EqualTo(_snapshotter.UpperDirectory("a")));
        Assert.That(Directory.EnumerateFileSystemEntries(mounts[0].Source), Is.Empty);
        Assert.That(_snapshotter.Stat("a"), Is.EqualTo(_snapshotter.List().Single()));
        Assert.That(_snapshotter.Stat("a")!.Kind, Is.EqualTo(SnapshotKind.Active));
    }

    [Test]
    public async Task A_parent_chain_becomes_overlay_lowerdirs_top_first_and_views_are_read_only()
    {
        await _snapshotter.PrepareAsync("k1", null, None);
        string fs1 = _snapshotter.UpperDirectory("k1");
        await _snapshotter.CommitAsync("l1", "k1", None);
        await _snapshotter.PrepareAsync("k2", "l1", None);
        string fs2 = _snapshotter.UpperDirectory("k2");
        await _snapshotter.CommitAsync("l2", "k2", None);

        var active = await _snapshotter.PrepareAsync("rw", "l2", None);
        var viewOfTwo = await _snapshotter.ViewAsync("v2", "l2", None);
        var viewOfOne = await _snapshotter.ViewAsync("v1", "l1", None);

        Assert.That(active.Single().Type, Is.EqualTo("overlay"));
        Assert.That(active.Single().Options, Does.Contain($"lowerdir={fs2}:{fs1}"));
        Assert.That(active.Single().Options, Does.Contain($"upperdir={_snapshotter.UpperDirectory("rw")}"));
        Assert.That(active.Single().Options.Any(o => o.StartsWith("workdir=", StringComparison.Ordinal)), Is.True);
        Assert.That(viewOfTwo.Single().Options, Is.EqualTo(new[] { $"lowerdir={fs2}:{fs1}" }));
        Assert.That(viewOfOne.Single().Type, Is.EqualTo("bind"));
        Assert.That(viewOfOne.Single().Source, Is.EqualTo(fs1));
        Assert.That(viewOfOne.Single().Options, Does.Contain("ro"));
        Assert.That(_snapshotter.Mounts("rw"), Is.EqualTo(active));
        Assert.That(_snapshotter.Stat("l2"), Is.EqualTo(new SnapshotInfo("l2", "l1", SnapshotKind.Committed, _snapshotter.Stat("l2")!.CreatedAt)));
        Assert.That(_snapshotter.Stat("k1"), Is.Null);
        Assert.That(_snapshotter.List().Select(i => i.Key), Is.EqualTo(new[] { "l1", "l2", "rw", "v1", "v2" }));
    }

    [Test]
    public async Task Wrong_states_are_refused()
    {
        await _snapshotter.PrepareAsync("k", null, None);
        await _snapshotter.ViewAsync("v", null, None);

        Assert.ThrowsAsync<SnapshotExistsException>(() => _snapshotter.PrepareAsync("k", null, None));
        Assert.ThrowsAsync<SnapshotNotFoundException>(() => _snapshotter.PrepareAsync("x", "missing", None));
        Assert.ThrowsAsync<SnapshotPreconditionException>(() => _snapshotter.PrepareAsync("x", "k", None)); // parent not committed
        Assert.ThrowsAsync<SnapshotPreconditionException>(() => _snapshotter.CommitAsync("c", "v", None)); // a view
        Assert.ThrowsAsync<SnapshotNotFoundException>(() => _snapshotter.RemoveAsync("missing", None));
        await _snapshotter.CommitAsync("c", "k", None);
        Assert.Throws<SnapshotPreconditionException>(() => _snapshotter.Mounts("c"));
        await _snapshotter.PrepareAsync("k2", null, None);
        Assert.ThrowsAsync<SnapshotExistsException>(() => _snapshotter.CommitAsync("c", "k2", None));
        Assert.That(_snapshotter.Stat("k2")!.Kind, Is.EqualTo(SnapshotKind.Active));
    }

    [Test]
    public async Task Remove_is_refused_while_a_child_exists_and_deletes_the_directory_afterwards()
    {
        await _snapshotter.PrepareAsync("k", null, None);
        string fs = _snapshotter.UpperDirectory("k");
        await _snapshotter.CommitAsync("base", "k", None);
        await _snapshotter.ViewAsync("child", "base", None);

        var refused = Assert.ThrowsAsync<SnapshotPreconditionException>(() => _snapshotter.RemoveAsync("base", None));
        Assert.That(refused!.Message, Does.Contain("child"));

        await _snapshotter.RemoveAsync("child", None);
        await _snapshotter.RemoveAsync("base", None);
        Assert.That(_snapshotter.List(), Is.Empty);
        Assert.That(Directory.Exists(Path.GetDirectoryName(fs)), Is.False);
    }

    [Test]
    public async Task Usage_counts_the_snapshots_own_layer_only()
    {
        await _snapshotter.PrepareAsync("k", null, None);
        await ApplyAsync("k", new LayerTar().File("a", new string('x', 1000)).File("d/b", new string('y', 24)).Symlink("s", "a"));
        await _snapshotter.CommitAsync("l1", "k", None);
        await _snapshotter.PrepareAsync("k2", "l1", None);
        await ApplyAsync("k2", new LayerTar().File("c", "12345"));

        Assert.That(await _snapshotter.UsageAsync("l1", None), Is.EqualTo(1024));
        Assert.That(await _snapshotter.UsageAsync("k2", None), Is.EqualTo(5));
    }

    [Test]
    public async Task A_new_instance_on_the_same_root_sees_the_same_snapshots_and_drops_orphan_directories()
    {
        await _snapshotter.PrepareAsync("k", null, None);
        await ApplyAsync("k", new LayerTar().File("f", "kept"));
        await _snapshotter.CommitAsync("l1", "k", None);
        var mounts = await _snapshotter.PrepareAsync("top", "l1", None);
        string orphan = Directory.CreateDirectory(Path.Combine(_root, "snapshots", "999", "fs")).FullName; // what a crash mid-prepare leaves

        var reopened = new OverlaySnapshotter(_root);

        Assert.That(reopened.List(), Is.EqualTo(_snapshotter.List()));
        Assert.That(reopened.Mounts("top"), Is.EqualTo(mounts));
        Assert.That(File.ReadAllText(Path.Combine(reopened.UpperDirectory("top"), "..", "..", "1", "fs", "f")), Is.EqualTo("kept"));
        Assert.That(Directory.Exists(orphan), Is.False);
    }

    [Test]
    public async Task Two_layers_merge_in_overlay_with_whiteouts_opaque_directories_and_every_file_type()
    {
        await _snapshotter.PrepareAsync("k1", null, None);
        await ApplyAsync("k1", new LayerTar()
            .Dir("etc/").File("etc/passwd", "root:x:0:0\n", xattrs: new Dictionary<string, string> { ["user.a"] = "1" })
            .File("etc/gone", "lower").Dir("etc/gonedir/").File("etc/gonedir/f", "lower")
            .Dir("opq/").File("opq/old", "lower").Dir("opq/olddir/")
            .Symlink("bin", "usr/bin").File("usr/bin/sh", "sh", mode: 0x1ed).HardLink("usr/bin/ash", "usr/bin/sh")
            .Device("dev/null", TarEntryType.CharacterDevice, 1, 3).Fifo("run/fifo"));
        await _snapshotter.CommitAsync("l1", "k1", None);
        await _snapshotter.PrepareAsync("k2", "l1", None);
        await ApplyAsync("k2", new LayerTar()
            .Dir("etc/").File("etc/.wh.gone", "").File("etc/.wh.gonedir", "").File("etc/passwd", "root:x:0:0\nnew:x:1:1\n")
            .Dir("opq/").File("opq/.wh..wh..opq", "").File("opq/new", "upper"));
        await _snapshotter.CommitAsync("l2", "k2", None);

        var mounts = await _snapshotter.ViewAsync("view", "l2", None);
        TestMounts.MountAll(mounts, _mountPoint);
        try
        {
            string m = _mountPoint;
            Assert.That(File.ReadAllText(Path.Combine(m, "etc/passwd")), Is.EqualTo("root:x:0:0\nnew:x:1:1\n"));
            Assert.That(Directory.EnumerateFileSystemEntries(Path.Combine(m, "etc")).Select(Path.GetFileName), Is.EquivalentTo(new[] { "passwd" }));
            Assert.That(Directory.EnumerateFileSystemEntries(Path.Combine(m, "opq")).Select(Path.GetFileName), Is.EquivalentTo(new[] { "new" }));
            Assert.That(File.ReadAllText(Path.Combine(m, "bin/sh")), Is.EqualTo("sh"));
            Assert.That(TestMounts.Run("stat", "-c", "%i", Path.Combine(m, "usr/bin/ash")), Is.EqualTo(TestMounts.Run("stat", "-c", "%i", Path.Combine(m, "usr/bin/sh"))));
            Assert.That(TestMounts.Run("stat", "-c", "%F %t %T", Path.Combine(m, "dev/null")).Trim(), Is.EqualTo("character special file 1 3"));
            Assert.That(TestMounts.Run("stat", "-c", "%F", Path.Combine(m, "run/fifo")).Trim(), Is.EqualTo("fifo"));
            Assert.Throws<IOException>(() => File.WriteAllText(Path.Combine(m, "etc/x"), "read-only view"));
        }
        finally
        {
            TestMounts.Unmount(_mountPoint);
        }

        // A container's writable layer on the same chain.
        var rw = await _snapshotter.PrepareAsync("container", "l2", None);
        TestMounts.MountAll(rw, _mountPoint);
        try
        {
            File.WriteAllText(Path.Combine(_mountPoint, "etc/written"), "by the container");
            File.Delete(Path.Combine(_mountPoint, "etc/passwd"));
        }
        finally
        {
            TestMounts.Unmount(_mountPoint);
        }

        string upper = _snapshotter.UpperDirectory("container");
        Assert.That(File.ReadAllText(Path.Combine(upper, "etc/written")), Is.EqualTo("by the container"));
        Assert.That(TestMounts.Run("stat", "-c", "%F", Path.Combine(upper, "etc/passwd")).Trim(), Is.EqualTo("character special file"));
        Assert.That(await _snapshotter.UsageAsync("container", None), Is.EqualTo("by the container".Length));
    }

    [Test]
    public async Task The_unpacker_commits_each_layer_under_its_chain_id_reuses_them_and_checks_diff_ids()
    {
        var content = new ContentStore(Path.Combine(_scratch.FullName, "content"));
        byte[] tar1 = new LayerTar().File("a", "1").Tar();
        byte[] tar2 = new LayerTar().File("b", "2").Symlink("evil", "/").Tar();
        byte[] gz2 = LayerTar.Gzip(tar2);
        var layers = new List<ContentDescriptor>();
        foreach (var (blob, type) in new[] { (tar1, Tar), (gz2, Tar + "+gzip") })
        {
            var info = await content.WriteAsync(new MemoryStream(blob), null, null, None);
            layers.Add(new ContentDescriptor { MediaType = type, Digest = info.Digest, Size = blob.Length });
        }

        string[] diffIds = [LayerTar.DiffId(tar1), LayerTar.DiffId(tar2)];
        var unpacker = new Unpacker(content, _snapshotter, new LayerApplier());

        string top = await unpacker.UnpackAsync(layers, diffIds, None);

        Assert.That(top, Is.EqualTo(Unpacker.ChainId(diffIds[0], diffIds[1])));
        Assert.That(_snapshotter.List().Select(i => (i.Key, i.Parent, i.Kind)), Is.EquivalentTo(new[]
        {
            (diffIds[0], (string?)null, SnapshotKind.Committed),
            (top, (string?)diffIds[0], SnapshotKind.Committed),
        }));
        Assert.That(await unpacker.UnpackAsync(layers, diffIds, None), Is.EqualTo(top));
        Assert.That(_snapshotter.List(), Has.Count.EqualTo(2));

        // A wrong diff id fails and leaves no extraction snapshot behind.
        await _snapshotter.RemoveAsync(top, None);
        string[] wrong = [diffIds[0], diffIds[0]];
        var error = Assert.ThrowsAsync<InvalidDataException>(() => unpacker.UnpackAsync(layers, wrong, None));
        Assert.That(error!.Message, Does.Contain(diffIds[1]));
        Assert.That(_snapshotter.List().Select(i => i.Key), Is.EqualTo(new[] { diffIds[0] }));
    }

    [Test]
    public void ChainId_follows_containerds_identity_rule()
    {
        // sha256("sha256:aaa sha256:bbb"), as containerd's identity.ChainID computes for two layers.
        Assert.That(
            Unpacker.ChainId("sha256:aaa", "sha256:bbb"),
            Is.EqualTo("sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("sha256:aaa sha256:bbb"u8))));
    }
}
