using Containerd.Daemon.Cri.Stats;

namespace Containerd.UnitTests.Daemon.Cri.Stats;

public sealed class CgroupStatsTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    [Test]
    public void V1_figures_come_from_cpuacct_memory_and_pids()
    {
        using var tree = FakeCgroupTree.V1("cpu", "cpuacct", "memory", "pids");
        tree.Write("cpuacct/k/c1/cpuacct.usage", "123456789\n");
        tree.Write("memory/k/c1/memory.usage_in_bytes", "10000\n");
        tree.Write("memory/k/c1/memory.limit_in_bytes", "20000\n");
        tree.Write("memory/k/c1/memory.stat",
            "cache 1\nrss 2\ninactive_file 3\npgfault 4\npgmajfault 5\n"
            + "total_cache 100\ntotal_rss 7000\ntotal_inactive_file 2500\ntotal_pgfault 900\ntotal_pgmajfault 9\n");
        tree.Write("pids/k/c1/pids.current", "3\n");

        var sample = CgroupStats.Read(new CgroupLocator(tree.Root).Locate("/k/c1"), new FixedClock(Now));

        Assert.That(sample, Is.EqualTo(new CgroupSample(
            CgroupStats.UnixNanoseconds(Now), 123456789, 10000, 7500, 7000, 900, 9, 20000, 12500, 3)));
        Assert.That(sample.TimestampNs, Is.EqualTo(1767323045000000000L));
    }

    [Test]
    public void V1_unlimited_memory_has_no_limit_and_no_available_bytes()
    {
        using var tree = FakeCgroupTree.V1("memory");
        tree.Write("memory/c/memory.usage_in_bytes", "4096");
        tree.Write("memory/c/memory.limit_in_bytes", "9223372036854771712");
        tree.Write("memory/c/memory.stat", "total_inactive_file 8192\n");
        tree.Write("memory/c/cgroup.procs", "1\n22\n333\n");

        var sample = CgroupStats.Read(new CgroupLocator(tree.Root).Locate("/c"));

        Assert.That(sample.MemoryLimitBytes, Is.Null);
        Assert.That(sample.AvailableBytes, Is.Null);
        Assert.That(sample.WorkingSetBytes, Is.Zero, "inactive file pages above usage floor the working set at 0");
        Assert.That(sample.ProcessCount, Is.EqualTo(3), "cgroup.procs counts when there is no pids controller");
        Assert.That(sample.CpuUsageNs, Is.Null, "no cpuacct hierarchy");
    }

    [Test]
    public void V2_figures_come_from_cpu_stat_memory_current_and_memory_stat()
    {
        using var tree = FakeCgroupTree.V2();
        const string dir = "kubepods.slice/kubepods-pod1.slice/cri-containerd-c1.scope";
        tree.Write($"{dir}/cpu.stat", "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n");
        tree.Write($"{dir}/memory.current", "50000\n");
        tree.Write($"{dir}/memory.max", "65536\n");
        tree.Write($"{dir}/memory.stat", "anon 30000\nfile 20000\ninactive_file 12000\npgfault 77\npgmajfault 1\n");
        tree.Write($"{dir}/pids.current", "2\n");

        var sample = CgroupStats.Read(new CgroupLocator(tree.Root).Locate("kubepods-pod1.slice:cri-containerd:c1"), new FixedClock(Now));

        Assert.That(sample, Is.EqualTo(new CgroupSample(
            CgroupStats.UnixNanoseconds(Now), 1500000, 50000, 38000, 30000, 77, 1, 65536, 27536, 2)));
    }

    [Test]
    public void V2_max_means_unlimited()
    {
        using var tree = FakeCgroupTree.V2();
        tree.Write("c/memory.current", "100");
        tree.Write("c/memory.max", "max\n");
        var sample = CgroupStats.Read(new CgroupLocator(tree.Root).Locate("/c"));
        Assert.That(sample.MemoryLimitBytes, Is.Null);
        Assert.That(sample.AvailableBytes, Is.Null);
        Assert.That(sample.WorkingSetBytes, Is.EqualTo(100), "no memory.stat: nothing to subtract");
    }

    [Test]
    public void A_working_set_above_the_limit_leaves_nothing_available()
    {
        using var tree = FakeCgroupTree.V2();
        tree.Write("c/memory.current", "5000");
        tree.Write("c/memory.max", "4096");
        Assert.That(CgroupStats.Read(new CgroupLocator(tree.Root).Locate("/c")).AvailableBytes, Is.Zero);
    }

    [TestCase(false)]
    [TestCase(true)]
    public void A_cgroup_that_is_gone_reads_as_all_unknown(bool unified)
    {
        using var tree = unified ? FakeCgroupTree.V2() : FakeCgroupTree.V1("cpu", "cpuacct", "memory", "pids");
        var sample = CgroupStats.Read(new CgroupLocator(tree.Root).Locate("/gone"), new FixedClock(Now));
        Assert.That(sample, Is.EqualTo(new CgroupSample(CgroupStats.UnixNanoseconds(Now), null, null, null, null, null, null, null, null, null)));
    }

    [Test]
    public void Garbage_in_a_file_is_unknown_not_a_crash()
    {
        using var tree = FakeCgroupTree.V1("cpuacct", "memory");
        tree.Write("cpuacct/c/cpuacct.usage", "lots");
        tree.Write("memory/c/memory.usage_in_bytes", "-1");
        tree.Write("memory/c/memory.stat", "total_rss\nbroken line here\ntotal_pgfault 5\n");
        var sample = CgroupStats.Read(new CgroupLocator(tree.Root).Locate("/c"));
        Assert.That(sample.CpuUsageNs, Is.Null);
        Assert.That(sample.MemoryUsageBytes, Is.Null);
        Assert.That(sample.RssBytes, Is.Null);
        Assert.That(sample.PageFaults, Is.EqualTo(5));
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
