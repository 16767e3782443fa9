using Containerd.Daemon.Cri.Stats;
using Runtime.V1;

namespace Containerd.UnitTests.Daemon.Cri.Stats;

public sealed class ContainerStatsBuilderTests
{
    private const long Second = 1_000_000_000;

    private static CgroupSample Sample(long timestamp, ulong cpu, ulong memory = 1000, ulong? available = 500, ulong? processes = 2) =>
        new(timestamp, cpu, memory, memory - 100, 300, 40, 4, available is null ? null : memory + available, available, processes);

    [Test]
    public void A_container_has_cpu_memory_writable_layer_and_attributes()
    {
        var config = new ContainerConfig { Metadata = new ContainerMetadata { Name = "web", Attempt = 2 } };
        config.Labels.Add("app", "web");
        config.Annotations.Add("note", "x");
        var rates = new CpuUsageRate();
        var attributes = ContainerStatsBuilder.Attributes("c1", config);

        var first = ContainerStatsBuilder.Container(attributes, Sample(10 * Second, 4 * Second), rates,
            new WritableLayerUsage(7, "/var/lib/containerd-cs/snapshots/overlayfs", 4096, 12));
        var second = ContainerStatsBuilder.Container(attributes, Sample(12 * Second, 5 * Second), rates, null);

        Assert.That(first.Attributes.Id, Is.EqualTo("c1"));
        Assert.That(first.Attributes.Metadata.Name, Is.EqualTo("web"));
        Assert.That(first.Attributes.Labels["app"], Is.EqualTo("web"));
        Assert.That(first.Attributes.Annotations["note"], Is.EqualTo("x"));
        Assert.That(first.Cpu.Timestamp, Is.EqualTo(10 * Second));
        Assert.That(first.Cpu.UsageCoreNanoSeconds.Value, Is.EqualTo(4 * Second));
        Assert.That(first.Cpu.UsageNanoCores.Value, Is.Zero, "the first sample has no rate");
        Assert.That(second.Cpu.UsageNanoCores.Value, Is.EqualTo(500_000_000));
        Assert.That(first.Memory.UsageBytes.Value, Is.EqualTo(1000));
        Assert.That(first.Memory.WorkingSetBytes.Value, Is.EqualTo(900));
        Assert.That(first.Memory.AvailableBytes.Value, Is.EqualTo(500));
        Assert.That(first.Memory.RssBytes.Value, Is.EqualTo(300));
        Assert.That(first.Memory.PageFaults.Value, Is.EqualTo(40));
        Assert.That(first.Memory.MajorPageFaults.Value, Is.EqualTo(4));
        Assert.That(first.WritableLayer.FsId.Mountpoint, Is.EqualTo("/var/lib/containerd-cs/snapshots/overlayfs"));
        Assert.That(first.WritableLayer.UsedBytes.Value, Is.EqualTo(4096));
        Assert.That(first.WritableLayer.InodesUsed.Value, Is.EqualTo(12));
        Assert.That(second.WritableLayer, Is.Null);
    }

    [Test]
    public void A_container_without_a_cgroup_has_no_cpu_or_memory_and_unlimited_memory_shows_zero_available()
    {
        var stopped = ContainerStatsBuilder.Container(ContainerStatsBuilder.Attributes("c1", (ContainerConfig?)null), null, new CpuUsageRate(), null);
        Assert.That(stopped.Cpu, Is.Null);
        Assert.That(stopped.Memory, Is.Null);

        var unlimited = ContainerStatsBuilder.Container(new ContainerAttributes { Id = "c2" }, Sample(1, 1, available: null), null, null);
        Assert.That(unlimited.Memory.AvailableBytes.Value, Is.Zero, "as containerd reports an unlimited cgroup");
        Assert.That(unlimited.Cpu.UsageNanoCores.Value, Is.Zero);

        var unknown = new CgroupSample(1, null, null, null, null, null, null, null, null, null);
        var gone = ContainerStatsBuilder.Container(new ContainerAttributes { Id = "c3" }, unknown, null, null);
        Assert.That(gone.Cpu, Is.Null);
        Assert.That(gone.Memory, Is.Null);
    }

    [Test]
    public void A_pod_uses_its_own_cgroup_and_network_without_loopback()
    {
        var config = new PodSandboxConfig { Metadata = new PodSandboxMetadata { Name = "pod", Namespace = "default", Uid = "u1" } };
        config.Labels.Add("tier", "front");
        var rates = new CpuUsageRate();
        var container = ContainerStatsBuilder.Container(new ContainerAttributes { Id = "c1" }, Sample(Second, Second), rates, null);
        var interfaces = new[]
        {
            new InterfaceCounters("lo", 1, 1, 1, 1),
            new InterfaceCounters("eth0", 100, 1, 200, 2),
            new InterfaceCounters("net1", 5, 0, 6, 0),
        };

        var stats = ContainerStatsBuilder.Sandbox(
            ContainerStatsBuilder.Attributes("p1", config), Sample(Second, 3 * Second, memory: 5000, processes: 4), rates, [container], interfaces, 77);

        Assert.That(stats.Attributes.Id, Is.EqualTo("p1"));
        Assert.That(stats.Attributes.Metadata.Uid, Is.EqualTo("u1"));
        Assert.That(stats.Attributes.Labels["tier"], Is.EqualTo("front"));
        Assert.That(stats.Linux.Cpu.UsageCoreNanoSeconds.Value, Is.EqualTo(3 * Second));
        Assert.That(stats.Linux.Memory.UsageBytes.Value, Is.EqualTo(5000));
        Assert.That(stats.Linux.Process.ProcessCount.Value, Is.EqualTo(4));
        Assert.That(stats.Linux.Process.Timestamp, Is.EqualTo(77));
        Assert.That(stats.Linux.Network.Timestamp, Is.EqualTo(77));
        Assert.That(stats.Linux.Network.DefaultInterface.Name, Is.EqualTo("eth0"));
        Assert.That(stats.Linux.Network.DefaultInterface.RxBytes.Value, Is.EqualTo(100));
        Assert.That(stats.Linux.Network.DefaultInterface.RxErrors.Value, Is.EqualTo(1));
        Assert.That(stats.Linux.Network.DefaultInterface.TxBytes.Value, Is.EqualTo(200));
        Assert.That(stats.Linux.Network.DefaultInterface.TxErrors.Value, Is.EqualTo(2));
        Assert.That(stats.Linux.Network.Interfaces.Select(i => i.Name), Is.EqualTo(new[] { "eth0", "net1" }));
        Assert.That(stats.Linux.Containers.Select(c => c.Attributes.Id), Is.EqualTo(new[] { "c1" }));
    }

    [Test]
    public void Without_a_pod_cgroup_the_pod_is_the_sum_of_its_containers()
    {
        var rates = new CpuUsageRate();
        ContainerStats Container(string id, long t, ulong cpu, ulong memory) =>
            ContainerStatsBuilder.Container(new ContainerAttributes { Id = id }, Sample(t, cpu, memory), rates, null);
        Container("a", 0, 0, 1000);
        Container("b", 0, 0, 2000);
        var a = Container("a", Second, Second / 2, 1000);
        var b = Container("b", Second, Second / 4, 2000);
        var stopped = ContainerStatsBuilder.Container(new ContainerAttributes { Id = "c" }, null, rates, null);

        var stats = ContainerStatsBuilder.Sandbox(new PodSandboxAttributes { Id = "p" }, null, rates, [a, b, stopped], null, 99, processCount: 5);

        Assert.That(stats.Linux.Cpu.Timestamp, Is.EqualTo(99));
        Assert.That(stats.Linux.Cpu.UsageCoreNanoSeconds.Value, Is.EqualTo(Second * 3 / 4));
        Assert.That(stats.Linux.Cpu.UsageNanoCores.Value, Is.EqualTo(750_000_000));
        Assert.That(stats.Linux.Memory.UsageBytes.Value, Is.EqualTo(3000));
        Assert.That(stats.Linux.Memory.WorkingSetBytes.Value, Is.EqualTo(2800));
        Assert.That(stats.Linux.Process.ProcessCount.Value, Is.EqualTo(5));
        Assert.That(stats.Linux.Network, Is.Null, "no netns read");
        Assert.That(stats.Linux.Containers, Has.Count.EqualTo(3));
    }

    [Test]
    public void A_pod_without_any_figures_has_only_attributes_and_containers()
    {
        var stats = ContainerStatsBuilder.Sandbox(new PodSandboxAttributes { Id = "p" }, null, null, [], null, 1);
        Assert.That(stats.Linux.Cpu, Is.Null);
        Assert.That(stats.Linux.Memory, Is.Null);
        Assert.That(stats.Linux.Process, Is.Null);
        Assert.That(stats.Linux.Containers, Is.Empty);
    }
}
