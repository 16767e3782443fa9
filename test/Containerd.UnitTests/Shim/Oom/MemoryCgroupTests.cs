using Containerd.Shim.Oom;

namespace Containerd.UnitTests.Shim.Oom;

/// <summary>Locating a memory cgroup from /proc/PID/cgroup and mountinfo, and reading its OOM counters.</summary>
public sealed class MemoryCgroupTests
{
    // A hybrid host like the test machine: memory on v1, an empty unified hierarchy beside it.
    private const string HybridMountInfo =
        "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n" +
        "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime shared:9 - cgroup cgroup rw,cpu\n" +
        "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime shared:12 - cgroup cgroup rw,memory\n" +
        "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n" +
        "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

    private const string HybridProcCgroup =
        "9:name=systemd:/\n8:pids:/default/c1\n4:memory:/default/c1\n1:cpu,cpuacct:/default/c1\n0::/\n";

    [Test]
    public void The_memory_line_of_cgroup_v1_wins_on_a_hybrid_host()
    {
        var cgroup = MemoryCgroup.Resolve(HybridProcCgroup, HybridMountInfo, out var problem);
        Assert.That(cgroup, Is.Not.Null, problem);
        Assert.That(cgroup!.Unified, Is.False);
        Assert.That(cgroup.Directory, Is.EqualTo("/sys/fs/cgroup/memory/default/c1"));
        Assert.That(cgroup.CounterFile, Is.EqualTo("/sys/fs/cgroup/memory/default/c1/memory.oom_control"));
    }

    [Test]
    public void A_unified_host_uses_the_v2_line()
    {
        const string mountInfo = "30 23 0:27 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n";
        var cgroup = MemoryCgroup.Resolve("0::/system.slice/ctd/c1\n", mountInfo, out var problem);
        Assert.That(cgroup, Is.Not.Null, problem);
        Assert.That(cgroup!.Unified, Is.True);
        Assert.That(cgroup.CounterFile, Is.EqualTo("/sys/fs/cgroup/system.slice/ctd/c1/memory.events"));
    }

    [Test]
    public void A_mount_of_a_subtree_is_joined_below_its_root()
    {
        const string mountInfo = "35 31 0:32 /kubepods /mnt/mem\\040cg rw - cgroup cgroup rw,memory\n";
        var cgroup = MemoryCgroup.Resolve("4:memory:/kubepods/pod1/c1\n", mountInfo, out var problem);
        Assert.That(cgroup?.Directory, Is.EqualTo("/mnt/mem cg/pod1/c1"), problem);
    }

    [Test]
    public void A_cgroup_outside_every_mount_is_not_found()
    {
        const string mountInfo = "35 31 0:32 /other /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
        Assert.That(MemoryCgroup.Resolve("4:memory:/default/c1\n", mountInfo, out var problem), Is.Null);
        Assert.That(problem, Does.Contain("/default/c1"));
    }

    [Test]
    public void A_v1_memory_line_without_a_memory_mount_is_not_found()
    {
        const string mountInfo = "32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n";
        Assert.That(MemoryCgroup.Resolve("4:memory:/c1\n0::/\n", mountInfo, out var problem), Is.Null);
        Assert.That(problem, Does.Contain("memory"));
    }

    [Test]
    public void The_controller_path_is_read_from_comma_lists_and_the_v2_line()
    {
        const string text = "5:cpu,cpuacct:/a\n4:memory,hugetlb:/b:c\n0::/d\n";
        Assert.Multiple(() =>
        {
            Assert.That(MemoryCgroup.ControllerPath(text, "cpuacct"), Is.EqualTo("/a"));
            // A colon in the path stays in the path.
            Assert.That(MemoryCgroup.ControllerPath(text, "memory"), Is.EqualTo("/b:c"));
            Assert.That(MemoryCgroup.ControllerPath(text, ""), Is.EqualTo("/d"));
            Assert.That(MemoryCgroup.ControllerPath(text, "pids"), Is.Null);
            Assert.That(MemoryCgroup.ControllerPath("", "memory"), Is.Null);
        });
    }

    [Test]
    public void Mountinfo_lines_with_optional_fields_are_parsed()
    {
        const string text = "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:5 master:2 - cgroup2 cgroup2 rw\n"
            + "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
        Assert.That(MemoryCgroup.CgroupMounts(text, unified: true).ToList(), Is.EqualTo(new[] { ("/", "/sys/fs/cgroup/unified", "rw") }));
        Assert.That(MemoryCgroup.CgroupMounts(text, unified: false).ToList(), Is.EqualTo(new[] { ("/", "/sys/fs/cgroup/memory", "rw,memory") }));
    }

    [TestCase("/", "/m", "/", ExpectedResult = "/m")]
    [TestCase("/", "/m", "/a/b", ExpectedResult = "/m/a/b")]
    [TestCase("/a", "/m", "/a/b", ExpectedResult = "/m/b")]
    [TestCase("/a", "/m", "/a", ExpectedResult = "/m")]
    [TestCase("/a", "/m", "/ab", ExpectedResult = null)]
    public string? Join(string root, string mountPoint, string path) => MemoryCgroup.Join(root, mountPoint, path);

    [Test]
    public void The_oom_kill_counter_is_read_from_oom_control_and_memory_events()
    {
        const string oomControl = "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n";
        const string events = "low 0\nhigh 0\nmax 12\noom 2\noom_kill 1\noom_group_kill 0\n";
        Assert.Multiple(() =>
        {
            Assert.That(MemoryCgroup.ReadCounter(oomControl, "oom_kill"), Is.EqualTo(3));
            Assert.That(MemoryCgroup.ReadCounter(events, "oom_kill"), Is.EqualTo(1));
            Assert.That(MemoryCgroup.ReadCounter(events, "oom"), Is.EqualTo(2));
            // An old kernel's oom_control has no counter.
            Assert.That(MemoryCgroup.ReadCounter("oom_kill_disable 0\nunder_oom 0\n", "oom_kill"), Is.Null);
            Assert.That(MemoryCgroup.ReadCounter("oom_kill x\n", "oom_kill"), Is.Null);
        });
    }
}
