using System.Formats.Tar;
using System.Text;
using Containerd.Daemon.Native;
using Containerd.Daemon.Snapshots;

namespace Containerd.UnitTests.Daemon.Snapshots;

/// <summary>
/// The layer applier on real files (run as root): every entry type with its
/// metadata, whiteouts and opaque directories in both styles, the diff id, and
/// hostile layers, each refused or contained with nothing appearing outside the target.
/// </summary>
public sealed class LayerApplierTests
{
    private const string Tar = "application/vnd.oci.image.layer.v1.tar";
    private const string TarGzip = "application/vnd.oci.image.layer.v1.tar+gzip";

    private DirectoryInfo _scratch = null!;
    private string _target = null!;
    private string _canary = null!;

    [SetUp]
    public void SetUp()
    {
        _scratch = Directory.CreateTempSubdirectory("layer-");
        _target = Directory.CreateDirectory(Path.Combine(_scratch.FullName, "a", "b", "target")).FullName;
        _canary = Directory.CreateDirectory(Path.Combine(_scratch.FullName, "canary")).FullName;
        File.WriteAllText(Path.Combine(_canary, "keep"), "canary");
    }

    [TearDown]
    public void TearDown() => _scratch.Delete(recursive: true);

    private static async Task<string> ApplyAsync(byte[] layer, string mediaType, string directory, WhiteoutStyle style = WhiteoutStyle.Overlay)
    {
        using var stream = new MemoryStream(layer);
        return await new LayerApplier(style).ApplyAsync(stream, mediaType, directory, [], CancellationToken.None);
    }

    private static string Stat(string path) => TestMounts.Run("stat", "-c", "%F|%u|%g|%a|%t|%T|%Y", path).Trim();

    [Test]
    public async Task Every_entry_type_lands_with_its_owner_mode_time_and_xattrs()
    {
        byte[] tar = new LayerTar()
            .Dir("etc/", mode: 0x1ed)
            .File("etc/hosts", "127.0.0.1 localhost\n", mode: 0x1a4, uid: 1000, gid: 1001, xattrs: new Dictionary<string, string> { ["user.note"] = "hello" })
            .File("bin/tool", "#!/bin/sh\n", mode: 0x9ed) // 04755: setuid kept after chown
            .Symlink("etc/link", "/etc/hosts")
            .HardLink("etc/hard", "etc/hosts")
            .Device("dev/null", TarEntryType.CharacterDevice, 1, 3)
            .Fifo("run/pipe")
            .Dir("private/", mode: 0x1c0, uid: 5, gid: 6)
            .Tar();

        string diffId = await ApplyAsync(tar, Tar, _target);

        Assert.That(diffId, Is.EqualTo(LayerTar.DiffId(tar)));
        Assert.That(File.ReadAllText(Path.Combine(_target, "etc/hosts")), Is.EqualTo("127.0.0.1 localhost\n"));
        Assert.That(Stat(Path.Combine(_target, "etc/hosts")), Is.EqualTo($"regular file|1000|1001|644|0|0|{LayerTar.Time.ToUnixTimeSeconds()}"));
        Assert.That(Encoding.UTF8.GetString(FileAt.GetXattr(Path.Combine(_target, "etc/hosts"), "user.note")!), Is.EqualTo("hello"));
        Assert.That(Stat(Path.Combine(_target, "bin/tool")), Does.StartWith("regular file|0|0|4755|"));
        Assert.That(new FileInfo(Path.Combine(_target, "etc/link")).LinkTarget, Is.EqualTo("/etc/hosts"));
        Assert.That(TestMounts.Run("stat", "-c", "%h %i", Path.Combine(_target, "etc/hard")), Is.EqualTo(TestMounts.Run("stat", "-c", "%h %i", Path.Combine(_target, "etc/hosts"))));
        Assert.That(TestMounts.Run("stat", "-c", "%h", Path.Combine(_target, "etc/hosts")).Trim(), Is.EqualTo("2"));
        Assert.That(Stat(Path.Combine(_target, "dev/null")), Does.StartWith("character special file|0|0|666|1|3|"));
        Assert.That(Stat(Path.Combine(_target, "run/pipe")), Does.StartWith("fifo|0|0|644|"));
        Assert.That(Stat(Path.Combine(_target, "private")), Is.EqualTo($"directory|5|6|700|0|0|{LayerTar.Time.ToUnixTimeSeconds()}"));
    }

    [Test]
    public async Task A_gzip_layer_gives_the_same_files_and_the_diff_id_of_its_uncompressed_tar()
    {
        byte[] tar = new LayerTar().File("a/b/c", "data").Tar();

        string diffId = await ApplyAsync(LayerTar.Gzip(tar), TarGzip, _target);

        Assert.That(diffId, Is.EqualTo(LayerTar.DiffId(tar)));
        Assert.That(File.ReadAllText(Path.Combine(_target, "a/b/c")), Is.EqualTo("data"));
    }

    [Test]
    public async Task A_zstd_layer_applies_with_the_diff_id_of_its_tar()
    {
        byte[] tar = new LayerTar().File("a/b/c", "zstd data").Tar();
        byte[] zstd = new ZstdSharp.Compressor(3).Wrap(tar).ToArray();

        string diffId = await ApplyAsync(zstd, "application/vnd.oci.image.layer.v1.tar+zstd", _target);

        Assert.That(diffId, Is.EqualTo(LayerTar.DiffId(tar)));
        Assert.That(File.ReadAllText(Path.Combine(_target, "a/b/c")), Is.EqualTo("zstd data"));
    }

    [Test]
    public async Task The_compression_is_read_from_the_magic_not_the_media_type()
    {
        byte[] tar = new LayerTar().File("z", "1").Tar();
        Assert.That(await ApplyAsync(new ZstdSharp.Compressor(1).Wrap(tar).ToArray(), TarGzip, _target), Is.EqualTo(LayerTar.DiffId(tar)));
        Assert.That(await ApplyAsync(LayerTar.Gzip(tar), Tar, _target), Is.EqualTo(LayerTar.DiffId(tar)));
        Assert.That(await ApplyAsync(tar, "application/vnd.oci.image.layer.v1.tar+zstd", _target), Is.EqualTo(LayerTar.DiffId(tar)));
    }

    [Test]
    public void A_truncated_zstd_layer_fails_and_unknown_media_types_are_not_supported()
    {
        byte[] tar = new LayerTar().File("a", new string('x', 100_000)).Tar();
        byte[] zstd = new ZstdSharp.Compressor(3).Wrap(tar).ToArray();
        Assert.That(() => ApplyAsync(zstd[..(zstd.Length / 2)], "application/vnd.oci.image.layer.v1.tar+zstd", _target), Throws.InstanceOf<Exception>());
        Assert.ThrowsAsync<NotSupportedException>(() => ApplyAsync(tar, "text/plain", _target));
    }

    [Test]
    public async Task Overlay_style_whiteouts_are_character_devices_and_opaque_directories_carry_the_xattr()
    {
        byte[] tar = new LayerTar().Dir("d/").File("d/.wh.gone", "").Dir("o/").File("o/.wh..wh..opq", "").File("o/new", "n").Tar();

        await ApplyAsync(tar, Tar, _target);

        Assert.That(Stat(Path.Combine(_target, "d/gone")), Does.StartWith("character special file|0|0|0|0|0|"));
        Assert.That(File.Exists(Path.Combine(_target, "d/.wh.gone")), Is.False);
        Assert.That(FileAt.GetXattr(Path.Combine(_target, "o"), "trusted.overlay.opaque"), Is.EqualTo("y"u8.ToArray()));
        Assert.That(File.Exists(Path.Combine(_target, "o/.wh..wh..opq")), Is.False);
    }

    [Test]
    public async Task Remove_style_whiteouts_delete_the_lower_files_in_a_plain_directory()
    {
        await ApplyAsync(new LayerTar().File("d/gone", "x").File("d/kept", "k").File("o/old", "o").Dir("o/sub/").Tar(), Tar, _target, WhiteoutStyle.Remove);
        await ApplyAsync(new LayerTar().File("d/.wh.gone", "").Dir("o/").File("o/.wh..wh..opq", "").File("o/new", "n").Tar(), Tar, _target, WhiteoutStyle.Remove);

        Assert.That(Directory.EnumerateFileSystemEntries(Path.Combine(_target, "d")).Select(Path.GetFileName), Is.EquivalentTo(new[] { "kept" }));
        Assert.That(Directory.EnumerateFileSystemEntries(Path.Combine(_target, "o")).Select(Path.GetFileName), Is.EquivalentTo(new[] { "new" }));
    }

    [Test]
    public async Task A_later_entry_replaces_an_earlier_one_of_another_type()
    {
        await ApplyAsync(new LayerTar().Dir("x/").File("x/inner", "i").File("y", "file").Tar(), Tar, _target);
        await ApplyAsync(new LayerTar().File("x", "now a file").Symlink("y", "x").Tar(), Tar, _target);

        Assert.That(File.ReadAllText(Path.Combine(_target, "x")), Is.EqualTo("now a file"));
        Assert.That(new FileInfo(Path.Combine(_target, "y")).LinkTarget, Is.EqualTo("x"));
    }

    [Test]
    public async Task An_absolute_name_is_taken_as_relative_and_lands_inside()
    {
        await ApplyAsync(new LayerTar().File("/abs/path", "inside").Tar(), Tar, _target);

        Assert.That(File.ReadAllText(Path.Combine(_target, "abs/path")), Is.EqualTo("inside"));
        Assert.That(Directory.Exists("/abs"), Is.False);
    }

    private static IEnumerable<TestCaseData> HostileLayers()
    {
        yield return new TestCaseData(new LayerTar().File("../../etc/x", "owned"), "'..' component").SetName("Dot_dot_components_are_refused");
        yield return new TestCaseData(new LayerTar().File("ok/../../../canary/owned", "owned"), "'..' component").SetName("Dot_dot_inside_a_name_is_refused");
        yield return new TestCaseData(new LayerTar().Symlink("evil", "/").File("evil/owned", "owned"), "'evil' is a symlink").SetName("A_file_through_a_symlink_to_root_is_refused");
        yield return new TestCaseData(new LayerTar().Symlink("up", "..").File("up/escaped", "owned"), "'up' is a symlink").SetName("A_file_through_a_symlink_to_dot_dot_is_refused");
        yield return new TestCaseData(new LayerTar().Symlink("up", "../../../canary").Dir("up/d/"), "'up' is a symlink").SetName("A_directory_through_a_symlink_is_refused");
        yield return new TestCaseData(new LayerTar().HardLink("passwd", "/etc/passwd"), "in the layer").SetName("A_hard_link_to_a_host_file_is_refused");
        yield return new TestCaseData(new LayerTar().Symlink("etc", "/etc").HardLink("passwd", "etc/passwd"), "'etc' is a symlink").SetName("A_hard_link_through_a_symlink_is_refused");
        yield return new TestCaseData(new LayerTar().Symlink("c", "../../../canary").HardLink("k", "c/keep"), "'c' is a symlink").SetName("A_hard_link_through_a_relative_symlink_is_refused");
        yield return new TestCaseData(new LayerTar().Symlink("c", "../../../canary").File("c/.wh.keep", ""), "'c' is a symlink").SetName("A_whiteout_through_a_symlink_is_refused");
        yield return new TestCaseData(new LayerTar().Symlink("c", "../../../canary").File("c/.wh..wh..opq", ""), "'c' is a symlink").SetName("An_opaque_marker_through_a_symlink_is_refused");
        yield return new TestCaseData(new LayerTar().File("d/.wh...", ""), "is invalid").SetName("A_whiteout_of_dot_dot_is_refused");
    }

    [TestCaseSource(nameof(HostileLayers))]
    public void A_hostile_layer_fails_naming_the_entry_and_leaves_the_host_untouched(LayerTar layer, string reason)
    {
        string[] before = Outside();
        string passwd = File.ReadAllText("/etc/passwd");
        string passwdLinks = TestMounts.Run("stat", "-c", "%h", "/etc/passwd");

        foreach (var style in new[] { WhiteoutStyle.Overlay, WhiteoutStyle.Remove })
        {
            var error = Assert.ThrowsAsync<InvalidDataException>(() => ApplyAsync(layer.Tar(), Tar, _target, style));
            Assert.That(error!.Message, Does.StartWith("layer entry '").And.Contains(reason));
        }

        Assert.That(Outside(), Is.EqualTo(before));
        Assert.That(File.ReadAllText(Path.Combine(_canary, "keep")), Is.EqualTo("canary"));
        Assert.That(File.ReadAllText("/etc/passwd"), Is.EqualTo(passwd));
        Assert.That(TestMounts.Run("stat", "-c", "%h", "/etc/passwd"), Is.EqualTo(passwdLinks));
        Assert.That(File.Exists("/etc/x") || File.Exists("/owned") || File.Exists("/escaped"), Is.False);
    }

    [Test]
    public async Task A_symlink_in_a_lower_layer_is_not_followed_by_an_upper_layer()
    {
        // Applied into a plain directory: the lower layer's symlink is right there.
        await ApplyAsync(new LayerTar().Symlink("lib", "../../../canary").Tar(), Tar, _target, WhiteoutStyle.Remove);
        string[] before = Outside();

        var error = Assert.ThrowsAsync<InvalidDataException>(() => ApplyAsync(new LayerTar().File("lib/owned", "x").Tar(), Tar, _target, WhiteoutStyle.Remove));

        Assert.That(error!.Message, Does.Contain("lib/owned"));
        Assert.That(Outside(), Is.EqualTo(before));
    }

    [Test]
    public async Task A_file_or_directory_over_a_planted_symlink_replaces_the_link_and_never_writes_through_it()
    {
        string passwd = File.ReadAllText("/etc/passwd");
        string[] before = Outside();

        await ApplyAsync(
            new LayerTar().Symlink("f", "/etc/passwd").File("f", "replaced").Symlink("d", "../../../canary").Dir("d/").File("d/keep", "inside").Tar(),
            Tar,
            _target);

        Assert.That(File.ReadAllText(Path.Combine(_target, "f")), Is.EqualTo("replaced"));
        Assert.That(new FileInfo(Path.Combine(_target, "f")).LinkTarget, Is.Null);
        Assert.That(File.ReadAllText(Path.Combine(_target, "d/keep")), Is.EqualTo("inside"));
        Assert.That(new DirectoryInfo(Path.Combine(_target, "d")).LinkTarget, Is.Null);
        Assert.That(File.ReadAllText("/etc/passwd"), Is.EqualTo(passwd));
        Assert.That(Outside(), Is.EqualTo(before));
    }

    [Test]
    public async Task A_hard_link_to_a_symlink_links_the_symlink_itself()
    {
        await ApplyAsync(new LayerTar().Symlink("l", "/etc/passwd").HardLink("h", "l").Tar(), Tar, _target);

        Assert.That(new FileInfo(Path.Combine(_target, "h")).LinkTarget, Is.EqualTo("/etc/passwd"));
        Assert.That(TestMounts.Run("stat", "-c", "%h", "/etc/passwd").Trim(), Is.EqualTo("1"));
    }

    /// <summary>Every path under the scratch directory outside the target, with file contents; symlinks are listed, never followed.</summary>
    private string[] Outside()
    {
        var found = new List<string>();
        Walk(new DirectoryInfo(_scratch.FullName));
        found.Sort(StringComparer.Ordinal);
        return [.. found];

        void Walk(DirectoryInfo directory)
        {
            foreach (var entry in directory.EnumerateFileSystemInfos())
            {
                if (entry.FullName == _target)
                    continue;
                if (entry.LinkTarget is { } link)
                    found.Add(entry.FullName + " -> " + link);
                else if (entry is DirectoryInfo child)
                {
                    found.Add(entry.FullName + "/");
                    Walk(child);
                }
                else
                    found.Add(entry.FullName + "=" + File.ReadAllText(entry.FullName));
            }
        }
    }
}
