using System.Text.Json.Nodes;
using Containerd.Api.CriStore;
using Containerd.Daemon.Cri.Common;
using Containerd.Daemon.Cri.Containers;
using Containerd.Daemon.Cri.Sandboxes;
using Containerd.Daemon.Hosting;
using Containerd.Daemon.Images;
using Containerd.Daemon.Metadata;
using Containerd.Daemon.Snapshots;
using Containerd.Daemon.Tasks;
using Containerd.Shared.Oci;
using Runtime.V1;

namespace Containerd.Daemon.Cri.Stats;

/// <summary>
/// ContainerStats, PodSandboxStats and their lists: each running container's
/// cgroup (found from its spec's cgroupsPath, as runc placed it), its writable
/// layer (the upper directory of its snapshot), and for a pod its cgroup parent
/// and the network counters of its namespace.
/// </summary>
public sealed class CriStatsReader(
    ContainerManager containers,
    SandboxManager sandboxes,
    CriTasks tasks,
    ContainerStore records,
    ISnapshotter snapshotter,
    DaemonOptions options)
{
    private readonly CgroupLocator _locator = new();
    private readonly CpuUsageRate _rates = new();

    public async Task<ContainerStatsResponse> ContainerAsync(string requestedId, CancellationToken cancellationToken)
    {
        var id = containers.Resolve(requestedId) ?? throw RpcErrors.NotFound($"container \"{requestedId}\" not found");
        var record = containers.Get(id) ?? throw RpcErrors.NotFound($"container \"{requestedId}\" not found");
        return new ContainerStatsResponse { Stats = await ReadAsync(record, cancellationToken).ConfigureAwait(false) };
    }

    public async Task<ListContainerStatsResponse> ListContainersAsync(ContainerStatsFilter? filter, CancellationToken cancellationToken)
    {
        var response = new ListContainerStatsResponse();
        foreach (var record in containers.All())
        {
            if (filter is not null)
            {
                if (filter.Id.Length > 0 && !record.Id.StartsWith(filter.Id, StringComparison.Ordinal))
                    continue;
                if (filter.PodSandboxId.Length > 0 && !record.SandboxId.StartsWith(filter.PodSandboxId, StringComparison.Ordinal))
                    continue;
                if (!CriFilters.LabelsMatch(filter.LabelSelector, record.Config.Labels))
                    continue;
            }
            response.Stats.Add(await ReadAsync(record, cancellationToken).ConfigureAwait(false));
        }
        return response;
    }

    public async Task<PodSandboxStatsResponse> SandboxAsync(string requestedId, CancellationToken cancellationToken)
    {
        var id = sandboxes.Resolve(requestedId) ?? throw SandboxManager.SandboxNotFound(requestedId);
        var record = sandboxes.Get(id) ?? throw SandboxManager.SandboxNotFound(requestedId);
        return new PodSandboxStatsResponse { Stats = await ReadAsync(record, cancellationToken).ConfigureAwait(false) };
    }

    public async Task<ListPodSandboxStatsResponse> ListSandboxesAsync(PodSandboxStatsFilter? filter, CancellationToken cancellationToken)
    {
        var response = new ListPodSandboxStatsResponse();
        foreach (var record in sandboxes.All())
        {
            if (filter is not null)
            {
                if (filter.Id.Length > 0 && !record.Id.StartsWith(filter.Id, StringComparison.Ordinal))
                    continue;
                if (!CriFilters.LabelsMatch(filter.LabelSelector, record.Config.Labels))
                    continue;
            }
            response.Stats.Add(await ReadAsync(record, cancellationToken).ConfigureAwait(false));
        }
        return response;
    }

    private async Task<ContainerStats> ReadAsync(ContainerRecord record, CancellationToken cancellationToken)
    {
        CgroupSample? sample = null;
        if (ContainerManager.StateOf(record) == ContainerState.ContainerRunning && tasks.IsRunning(record.Id))
            sample = await SampleAsync(record.Id, cancellationToken).ConfigureAwait(false);
        else
            _rates.Forget(record.Id);
        WritableLayerUsage? layer = null;
        try
        {
            var key = ContainerSnapshots.KeyOf(CriNames.Namespace, record.Id);
            var used = await snapshotter.UsageAsync(key, cancellationToken).ConfigureAwait(false);
            layer = new WritableLayerUsage(CriNames.Now(), options.OverlaySnapshotsRoot, (ulong)Math.Max(0, used), 0);
        }
        catch (SnapshotNotFoundException)
        {
        }
        return ContainerStatsBuilder.Container(ContainerStatsBuilder.Attributes(record.Id, record.Config), sample, _rates, layer);
    }

    private async Task<PodSandboxStats> ReadAsync(SandboxRecord record, CancellationToken cancellationToken)
    {
        var members = new List<ContainerStats>();
        foreach (var container in containers.All().Where(c => c.SandboxId == record.Id))
            members.Add(await ReadAsync(container, cancellationToken).ConfigureAwait(false));
        CgroupSample? podSample = null;
        if (record.Config.Linux?.CgroupParent is { Length: > 0 } parent)
        {
            try
            {
                podSample = CgroupStats.Read(_locator.Locate(parent));
            }
            catch (FormatException)
            {
            }
        }
        var interfaces = record.Pid != 0 && record.NetnsPath.Length > 0 ? NetworkDevices.Read((int)record.Pid) : null;
        return ContainerStatsBuilder.Sandbox(
            ContainerStatsBuilder.Attributes(record.Id, record.Config), podSample, _rates, members, interfaces, CriNames.Now());
    }

    private async Task<CgroupSample?> SampleAsync(string id, CancellationToken cancellationToken)
    {
        var container = await records.GetAsync(CriNames.Namespace, id, cancellationToken).ConfigureAwait(false);
        var cgroupsPath = CgroupLocator.CgroupsPathOf(SpecAny.Unpack(container?.Spec)) ?? BundleConfig.CgroupsPath(CriNames.Namespace, id);
        try
        {
            return CgroupStats.Read(_locator.Locate(cgroupsPath));
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
