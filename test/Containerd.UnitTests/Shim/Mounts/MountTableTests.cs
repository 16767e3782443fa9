using Containerd.Shared.Native;

namespace Containerd.UnitTests.Shim.Mounts;

public sealed class MountTableTests
{
    [Test]
    public void Mounts_at_or_below_the_rootfs_come_deepest_first_and_the_top_of_a_stack_first()
    {
        string[] mountinfo =
        [
            "22 1 8:1 / / rw - ext4 /dev/sda1 rw",
            "30 22 0:40 / /b/rootfs rw - overlay overlay rw",
            "31 30 0:41 / /b/rootfs/proc rw - proc proc rw",
            "32 30 0:42 / /b/rootfs rw - tmpfs tmpfs rw",
            "33 22 0:43 / /b/rootfs2 rw - tmpfs tmpfs rw",
            "34 31 0:44 / /b/rootfs/proc/sys rw - tmpfs tmpfs rw",
        ];
        var mounts = MountTable.MountsUnder(mountinfo, "/b/rootfs/");
        Assert.That(mounts, Is.EqualTo(new[] { "/b/rootfs/proc/sys", "/b/rootfs/proc", "/b/rootfs", "/b/rootfs" }));
    }

    [Test]
    public void Escaped_mount_points_are_decoded() =>
        Assert.That(MountTable.Unescape(@"/b/my\040root\134x"), Is.EqualTo(@"/b/my root\x"));
}
