using System.Text.Json.Nodes;
using Containerd.Daemon.Cri.Specs;
using Runtime.V1;

namespace Containerd.UnitTests.Daemon.Cri.Specs;

public sealed class LinuxResourcesJsonTests
{
    [Test]
    public void Every_cri_field_lands_in_its_oci_place()
    {
        var update = new LinuxContainerResources
        {
            CpuPeriod = 100000, CpuQuota = 50000, CpuShares = 512, CpusetCpus = "0-1", CpusetMems = "0",
            MemoryLimitInBytes = 64 << 20, MemorySwapLimitInBytes = 128 << 20, OomScoreAdj = 500,
            HugepageLimits = { new HugepageLimit { PageSize = "2MB", Limit = 4 << 20 } },
            Unified = { ["memory.high"] = "60000000" },
        };

        var json = LinuxResourcesJson.Apply(null, update, swapAvailable: true, hugetlbAvailable: true);

        Assert.That(json.ToJsonString(), Is.EqualTo(
            """{"cpu":{"period":100000,"quota":50000,"shares":512,"cpus":"0-1","mems":"0"},"memory":{"limit":67108864,"swap":134217728},"hugepageLimits":[{"pageSize":"2MB","limit":4194304}],"unified":{"memory.high":"60000000"}}"""));
    }

    [Test]
    public void A_memory_limit_without_swap_sets_swap_to_the_limit_when_swap_is_limited()
    {
        var update = new LinuxContainerResources { MemoryLimitInBytes = 1 << 20 };
        Assert.That(LinuxResourcesJson.Apply(null, update, true, false).ToJsonString(),
            Is.EqualTo("""{"memory":{"limit":1048576,"swap":1048576}}"""));
        Assert.That(LinuxResourcesJson.Apply(null, update, false, false).ToJsonString(),
            Is.EqualTo("""{"memory":{"limit":1048576}}"""), "no swap controller: no swap limit");
        var swapOnly = new LinuxContainerResources { MemorySwapLimitInBytes = 1 << 21 };
        Assert.That(LinuxResourcesJson.Apply(null, swapOnly, false, false).ToJsonString(), Is.EqualTo("{}"));
    }

    [Test]
    public void Zero_fields_keep_the_current_values_and_the_current_object_is_not_changed()
    {
        var current = JsonNode.Parse(
            """{"devices":[{"allow":false,"access":"rwm"}],"cpu":{"shares":2,"quota":1000,"period":100000},"memory":{"limit":100,"swap":100},"unified":{"a":"1"}}""")!.AsObject();
        var before = current.ToJsonString();
        var update = new LinuxContainerResources { CpuQuota = 2000, MemoryLimitInBytes = 200, Unified = { ["b"] = "2" } };

        var json = LinuxResourcesJson.Apply(current, update, swapAvailable: true, hugetlbAvailable: false);

        Assert.That(json.ToJsonString(), Is.EqualTo(
            """{"devices":[{"allow":false,"access":"rwm"}],"cpu":{"shares":2,"quota":2000,"period":100000},"memory":{"limit":200,"swap":200},"unified":{"a":"1","b":"2"}}"""));
        Assert.That(current.ToJsonString(), Is.EqualTo(before));
    }

    [Test]
    public void Hugepage_limits_are_left_out_without_the_hugetlb_controller_and_oom_score_adj_never_appears()
    {
        var update = new LinuxContainerResources { OomScoreAdj = -999, HugepageLimits = { new HugepageLimit { PageSize = "1GB", Limit = 1 } } };
        Assert.That(LinuxResourcesJson.Apply(null, update, true, false).ToJsonString(), Is.EqualTo("{}"));
    }

    [Test]
    public void A_negative_quota_is_unlimited_but_negative_period_or_shares_is_refused()
    {
        Assert.That(LinuxResourcesJson.Apply(null, new LinuxContainerResources { CpuQuota = -1 }, false, false).ToJsonString(),
            Is.EqualTo("""{"cpu":{"quota":-1}}"""));
        var period = Assert.Throws<ArgumentException>(() => LinuxResourcesJson.Apply(null, new LinuxContainerResources { CpuPeriod = -1 }, false, false))!;
        Assert.That(period.Message, Does.StartWith("cpu_period -1 is negative"));
        var shares = Assert.Throws<ArgumentException>(() => LinuxResourcesJson.Apply(null, new LinuxContainerResources { CpuShares = -2 }, false, false))!;
        Assert.That(shares.Message, Does.StartWith("cpu_shares -2 is negative"));
    }

    [Test]
    public void Controllers_are_detected_from_the_cgroup_tree()
    {
        var root = Path.Combine(Path.GetTempPath(), "cgres-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            Directory.CreateDirectory(Path.Combine(root, "memory"));
            Assert.That(LinuxResourcesJson.SwapControllerAvailable(root), Is.False);
            Assert.That(LinuxResourcesJson.HugetlbControllerAvailable(root), Is.False);
            File.WriteAllText(Path.Combine(root, "memory", "memory.memsw.limit_in_bytes"), "9223372036854771712");
            Directory.CreateDirectory(Path.Combine(root, "hugetlb"));
            Assert.That(LinuxResourcesJson.SwapControllerAvailable(root), Is.True);
            Assert.That(LinuxResourcesJson.HugetlbControllerAvailable(root), Is.True);

            // v2: hugetlb from cgroup.controllers, swap from our own cgroup's memory.swap.max.
            File.WriteAllText(Path.Combine(root, "cgroup.controllers"), "cpu memory pids\n");
            var self = Path.Combine(root, "self");
            File.WriteAllText(self, "0::/daemon.service\n");
            Assert.That(LinuxResourcesJson.HugetlbControllerAvailable(root), Is.False);
            Assert.That(LinuxResourcesJson.SwapControllerAvailable(root, self), Is.False);
            Directory.CreateDirectory(Path.Combine(root, "daemon.service"));
            File.WriteAllText(Path.Combine(root, "daemon.service", "memory.swap.max"), "max");
            File.WriteAllText(Path.Combine(root, "cgroup.controllers"), "cpu memory hugetlb pids\n");
            Assert.That(LinuxResourcesJson.SwapControllerAvailable(root, self), Is.True);
            Assert.That(LinuxResourcesJson.HugetlbControllerAvailable(root), Is.True);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
