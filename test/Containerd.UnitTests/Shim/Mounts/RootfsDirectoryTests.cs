using Containerd.Shim.Mounts;

namespace Containerd.UnitTests.Shim.Mounts;

/// <summary>Resolving mount targets inside a rootfs (openat2 RESOLVE_IN_ROOT) on a real, hostile directory tree.</summary>
public sealed class RootfsDirectoryTests
{
    private string _dir = null!;
    private string _rootfs = null!;
    private string _host = null!;

    [SetUp]
    public void CreateTree()
    {
        _dir = Directory.CreateTempSubdirectory("rootfs-directory-").FullName;
        _rootfs = Directory.CreateDirectory(Path.Combine(_dir, "rootfs")).FullName;
        _host = Directory.CreateDirectory(Path.Combine(_dir, "host")).FullName;
        File.WriteAllText(Path.Combine(_host, "marker"), "host");
    }

    [TearDown]
    public void RemoveTree() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void An_absolute_symlink_resolves_as_if_the_rootfs_were_the_root()
    {
        File.CreateSymbolicLink(Path.Combine(_rootfs, "evil"), _host);

        var placed = Place("evil");

        Assert.That(placed, Is.EqualTo(_rootfs + _host));
        AssertHostUntouched();
    }

    [Test]
    public void A_relative_chain_of_dots_is_clamped_at_the_rootfs()
    {
        File.CreateSymbolicLink(Path.Combine(_rootfs, "evil"), string.Concat(Enumerable.Repeat("../", 12)) + _host.TrimStart('/'));

        var placed = Place("/evil");

        Assert.That(placed, Is.EqualTo(_rootfs + _host));
        AssertHostUntouched();
    }

    [Test]
    public void A_link_through_a_link_to_an_existing_directory_stays_inside()
    {
        Directory.CreateDirectory(Path.Combine(_rootfs, "real"));
        File.CreateSymbolicLink(Path.Combine(_rootfs, "hop"), "/real/../../../..");
        File.CreateSymbolicLink(Path.Combine(_rootfs, "evil"), "hop");

        var placed = Place("evil/sub");

        Assert.That(placed, Is.EqualTo(_rootfs + "/sub"));
        AssertHostUntouched();
    }

    [Test]
    public void A_missing_component_below_a_link_is_created_inside_the_rootfs()
    {
        File.CreateSymbolicLink(Path.Combine(_rootfs, "evil"), _host);

        var placed = Place("evil/sub/deeper");

        Assert.That(placed, Is.EqualTo(_rootfs + _host + "/sub/deeper"));
        Assert.That(Directory.Exists(placed));
        AssertHostUntouched();
    }

    [Test]
    public void The_rootfs_itself_and_plain_directories_resolve_where_they_are()
    {
        Assert.That(Place(""), Is.EqualTo(_rootfs));
        Assert.That(Place("a/b"), Is.EqualTo(_rootfs + "/a/b"));
        Assert.That(Directory.Exists(Path.Combine(_rootfs, "a", "b")));
    }

    [Test]
    public void A_file_on_the_way_is_an_error_not_a_mount_elsewhere()
    {
        File.WriteAllText(Path.Combine(_rootfs, "file"), "");

        Assert.Throws<MountException>(() => Place("file/sub"));
    }

    [Test]
    public void A_symlink_loop_is_an_error()
    {
        File.CreateSymbolicLink(Path.Combine(_rootfs, "loop"), "loop");

        Assert.Throws<MountException>(() => Place("loop/x"));
    }

    private string Place(string target)
    {
        using var root = RootfsDirectory.Open(_rootfs);
        using var placed = root.Place(MountTargetPath.Components(target)!, target);
        return root.Locate(placed, target).Absolute;
    }

    private void AssertHostUntouched() =>
        Assert.That(Directory.EnumerateFileSystemEntries(_host).Select(Path.GetFileName), Is.EqualTo(new[] { "marker" }));
}
