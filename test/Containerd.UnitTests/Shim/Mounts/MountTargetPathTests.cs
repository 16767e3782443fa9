using Containerd.Shim.Mounts;

namespace Containerd.UnitTests.Shim.Mounts;

public sealed class MountTargetPathTests
{
    [TestCase("", new string[0])]
    [TestCase("/", new string[0])]
    [TestCase("proc", new[] { "proc" })]
    [TestCase("/dev/shm", new[] { "dev", "shm" })]
    [TestCase("a//b/./c/", new[] { "a", "b", "c" })]
    [TestCase("a/b/../c", new[] { "a", "c" })]
    [TestCase("a/..", new string[0])]
    [TestCase("/a/../b", new[] { "b" })]
    public void A_target_is_cleaned_into_components_below_the_root(string target, string[] expected) =>
        Assert.That(MountTargetPath.Components(target), Is.EqualTo(expected));

    [TestCase("..")]
    [TestCase("../x")]
    [TestCase("/../x")]
    [TestCase("a/../../x")]
    [TestCase("a/b/../../../etc")]
    public void A_target_whose_dots_climb_above_the_root_cannot_be_placed(string target) =>
        Assert.That(MountTargetPath.Components(target), Is.Null);

    [Test]
    public void An_absolute_link_starts_again_at_the_root_with_nothing_resolved()
    {
        var (path, resolved) = MountTargetPath.Splice(["a", "evil", "sub"], 1, "/some/host/dir");

        Assert.That(path, Is.EqualTo(new[] { "some", "host", "dir", "sub" }));
        Assert.That(resolved, Is.EqualTo(0));
    }

    [Test]
    public void A_relative_link_continues_from_its_directory_and_keeps_its_dots_for_the_kernel()
    {
        var (path, resolved) = MountTargetPath.Splice(["a", "evil", "sub"], 1, "../../.././x//y");

        Assert.That(path, Is.EqualTo(new[] { "a", "..", "..", "..", "x", "y", "sub" }));
        Assert.That(resolved, Is.EqualTo(1));
    }

    [TestCase(new string[0], ".")]
    [TestCase(new[] { "a" }, "a")]
    [TestCase(new[] { "a", "..", "b" }, "a/../b")]
    public void Components_join_into_a_path_relative_to_the_root(string[] components, string expected) =>
        Assert.That(MountTargetPath.Join(components), Is.EqualTo(expected));

    [TestCase("/b/rootfs", "/b/rootfs", "")]
    [TestCase("/b/rootfs", "/b/rootfs/x/y", "x/y")]
    [TestCase("/b/rootfs/", "/b/rootfs/x", "x")]
    [TestCase("/b/rootfs", "/b/rootfsx", null)]
    [TestCase("/b/rootfs", "/b", null)]
    [TestCase("/b/rootfs", "/tmp/host", null)]
    public void Within_says_where_a_resolved_path_is_relative_to_the_root(string root, string resolved, string? expected) =>
        Assert.That(MountTargetPath.Within(root, resolved), Is.EqualTo(expected));
}
