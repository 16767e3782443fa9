using Runtime.V1;

namespace Containerd.Daemon.Cri.Stats;

/// <summary>
/// Builds CRI's ContainerStats and PodSandboxStats from cgroup samples, as
/// containerd's CRI plugin fills them: usage_nano_cores from the previous
/// sample of the same id (0 the first time), available_bytes 0 when the
/// memory is unlimited, the writable layer as the caller measured it.
/// </summary>
public static class ContainerStatsBuilder
{
    /// <summary>The attributes of a container: its id and what its config names it and labels it with.</summary>
    public static ContainerAttributes Attributes(string id, ContainerConfig? config)
    {
        var attributes = new ContainerAttributes { Id = id, Metadata = config?.Metadata };
        if (config is not null)
        {
            attributes.Labels.Add(config.Labels);
            attributes.Annotations.Add(config.Annotations);
        }
        return attributes;
    }

    /// <summary>The attributes of a pod sandbox: its id and what its config names it and labels it with.</summary>
    public static PodSandboxAttributes Attributes(string id, PodSandboxConfig? config)
    {
        var attributes = new PodSandboxAttributes { Id = id, Metadata = config?.Metadata };
        if (config is not null)
        {
            attributes.Labels.Add(config.Labels);
            attributes.Annotations.Add(config.Annotations);
        }
        return attributes;
    }

    /// <summary>
    /// One container's stats. <paramref name="sample"/> null (no cgroup: not
    /// running) leaves cpu and memory out, as containerd does for a container
    /// without a task; <paramref name="rates"/> keys the rate by the attributes' id.
    /// </summary>
    public static ContainerStats Container(
        ContainerAttributes attributes, CgroupSample? sample, CpuUsageRate? rates, WritableLayerUsage? writableLayer)
    {
        var stats = new ContainerStats { Attributes = attributes };
        if (sample is not null)
        {
            stats.Cpu = Cpu(attributes.Id, sample, rates);
            stats.Memory = Memory(sample);
        }
        if (writableLayer is not null)
        {
            stats.WritableLayer = new FilesystemUsage
            {
                Timestamp = writableLayer.TimestampNs,
                FsId = new FilesystemIdentifier { Mountpoint = writableLayer.Mountpoint },
                UsedBytes = new UInt64Value { Value = writableLayer.UsedBytes },
                InodesUsed = new UInt64Value { Value = writableLayer.InodesUsed },
            };
        }
        return stats;
    }

    /// <summary>
    /// A pod's stats (the linux part). CPU and memory are the pod cgroup's
    /// (<paramref name="podSample"/>: its cgroup parent) or, without it, the
    /// sum of <paramref name="containers"/>; the process count is the pod
    /// cgroup's, else <paramref name="processCount"/>; the network is the
    /// sandbox netns's interfaces but loopback, eth0 being the default interface.
    /// </summary>
    /// <param name="timestampNs">When the pod was sampled (network, process count, summed figures).</param>
    public static PodSandboxStats Sandbox(
        PodSandboxAttributes attributes,
        CgroupSample? podSample,
        CpuUsageRate? rates,
        IReadOnlyList<ContainerStats> containers,
        IReadOnlyList<InterfaceCounters>? interfaces,
        long timestampNs,
        ulong? processCount = null)
    {
        var linux = new LinuxPodSandboxStats();
        if (podSample is not null)
        {
            linux.Cpu = Cpu(attributes.Id, podSample, rates);
            linux.Memory = Memory(podSample);
        }
        linux.Cpu ??= SumCpu(containers, timestampNs);
        linux.Memory ??= SumMemory(containers, timestampNs);
        if (interfaces is not null)
            linux.Network = Network(interfaces, timestampNs);
        if ((podSample?.ProcessCount ?? processCount) is { } count)
            linux.Process = new ProcessUsage { Timestamp = timestampNs, ProcessCount = new UInt64Value { Value = count } };
        linux.Containers.AddRange(containers);
        return new PodSandboxStats { Attributes = attributes, Linux = linux };
    }

    /// <summary>CPU usage of a sample; null when its CPU time is unknown. The rate is 0 without <paramref name="rates"/>.</summary>
    public static CpuUsage? Cpu(string id, CgroupSample sample, CpuUsageRate? rates)
    {
        if (sample.CpuUsageNs is not { } usage)
            return null;
        return new CpuUsage
        {
            Timestamp = sample.TimestampNs,
            UsageCoreNanoSeconds = new UInt64Value { Value = usage },
            UsageNanoCores = new UInt64Value { Value = rates?.Update(id, sample.TimestampNs, usage) ?? 0 },
        };
    }

    /// <summary>Memory usage of a sample; null when its usage is unknown.</summary>
    public static MemoryUsage? Memory(CgroupSample sample)
    {
        if (sample.MemoryUsageBytes is not { } usage)
            return null;
        return new MemoryUsage
        {
            Timestamp = sample.TimestampNs,
            UsageBytes = new UInt64Value { Value = usage },
            WorkingSetBytes = new UInt64Value { Value = sample.WorkingSetBytes ?? usage },
            // containerd reports 0 for an unlimited cgroup.
            AvailableBytes = new UInt64Value { Value = sample.AvailableBytes ?? 0 },
            RssBytes = new UInt64Value { Value = sample.RssBytes ?? 0 },
            PageFaults = new UInt64Value { Value = sample.PageFaults ?? 0 },
            MajorPageFaults = new UInt64Value { Value = sample.MajorPageFaults ?? 0 },
        };
    }

    /// <summary>The interfaces but loopback; eth0, when there, is the default interface.</summary>
    public static NetworkUsage Network(IReadOnlyList<InterfaceCounters> interfaces, long timestampNs)
    {
        var usage = new NetworkUsage { Timestamp = timestampNs };
        foreach (var counters in interfaces)
        {
            if (counters.Name == "lo")
                continue;
            var entry = new NetworkInterfaceUsage
            {
                Name = counters.Name,
                RxBytes = new UInt64Value { Value = counters.RxBytes },
                RxErrors = new UInt64Value { Value = counters.RxErrors },
                TxBytes = new UInt64Value { Value = counters.TxBytes },
                TxErrors = new UInt64Value { Value = counters.TxErrors },
            };
            usage.Interfaces.Add(entry);
            if (counters.Name == NetworkDevices.DefaultInterface)
                usage.DefaultInterface = entry;
        }
        return usage;
    }

    private static CpuUsage? SumCpu(IReadOnlyList<ContainerStats> containers, long timestampNs)
    {
        var withCpu = containers.Where(c => c.Cpu?.UsageCoreNanoSeconds is not null).ToList();
        if (withCpu.Count == 0)
            return null;
        return new CpuUsage
        {
            Timestamp = timestampNs,
            UsageCoreNanoSeconds = new UInt64Value { Value = Sum(withCpu, c => c.Cpu.UsageCoreNanoSeconds) },
            UsageNanoCores = new UInt64Value { Value = Sum(withCpu, c => c.Cpu.UsageNanoCores) },
        };
    }

    private static MemoryUsage? SumMemory(IReadOnlyList<ContainerStats> containers, long timestampNs)
    {
        var withMemory = containers.Where(c => c.Memory?.UsageBytes is not null).ToList();
        if (withMemory.Count == 0)
            return null;
        return new MemoryUsage
        {
            Timestamp = timestampNs,
            UsageBytes = new UInt64Value { Value = Sum(withMemory, c => c.Memory.UsageBytes) },
            WorkingSetBytes = new UInt64Value { Value = Sum(withMemory, c => c.Memory.WorkingSetBytes) },
            AvailableBytes = new UInt64Value { Value = Sum(withMemory, c => c.Memory.AvailableBytes) },
            RssBytes = new UInt64Value { Value = Sum(withMemory, c => c.Memory.RssBytes) },
            PageFaults = new UInt64Value { Value = Sum(withMemory, c => c.Memory.PageFaults) },
            MajorPageFaults = new UInt64Value { Value = Sum(withMemory, c => c.Memory.MajorPageFaults) },
        };
    }

    private static ulong Sum(IEnumerable<ContainerStats> stats, Func<ContainerStats, UInt64Value?> value) =>
        stats.Aggregate(0UL, (total, s) => total + (value(s)?.Value ?? 0));
}
