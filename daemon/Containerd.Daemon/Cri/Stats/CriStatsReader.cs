using Containerd.Daemon.Hosting;
using Runtime.V1;

namespace Containerd.Daemon.Cri.Stats;

/// <summary>ContainerStats, PodSandboxStats and their lists, read from the cgroups of the CRI's containers.</summary>
public sealed class CriStatsReader
{
    public Task<ContainerStatsResponse> ContainerAsync(string id, CancellationToken cancellationToken) =>
        throw RpcErrors.Unimplemented("CRI ContainerStats: not served yet");

    public Task<ListContainerStatsResponse> ListContainersAsync(ContainerStatsFilter? filter, CancellationToken cancellationToken) =>
        throw RpcErrors.Unimplemented("CRI ListContainerStats: not served yet");

    public Task<PodSandboxStatsResponse> SandboxAsync(string id, CancellationToken cancellationToken) =>
        throw RpcErrors.Unimplemented("CRI PodSandboxStats: not served yet");

    public Task<ListPodSandboxStatsResponse> ListSandboxesAsync(PodSandboxStatsFilter? filter, CancellationToken cancellationToken) =>
        throw RpcErrors.Unimplemented("CRI ListPodSandboxStats: not served yet");
}
