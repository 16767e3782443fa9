using Containerd.Daemon.Cri.Containers;
using Containerd.Daemon.Cri.Common;
using Containerd.Daemon.Cri.Sandboxes;
using Containerd.Daemon.Cri.Stats;
using Containerd.Daemon.Hosting;
using Grpc.Core;
using Runtime.V1;

namespace Containerd.Daemon.Cri;

/// <summary>
/// The kubelet's runtime.v1.RuntimeService on the daemon's socket. Each call is
/// handed to the type that owns its concept; what is not built yet answers
/// Unimplemented with a message that says so (never the bare default).
/// </summary>
public sealed class CriRuntimeService(
    CriStatus status,
    SandboxManager sandboxes,
    ContainerManager containers,
    ExecSyncRunner execs,
    CriStatsReader stats) : RuntimeService.RuntimeServiceBase
{
    public override Task<VersionResponse> Version(VersionRequest request, ServerCallContext context) =>
        Task.FromResult(status.Version());

    public override Task<StatusResponse> Status(StatusRequest request, ServerCallContext context) =>
        Task.FromResult(status.Status(request.Verbose));

    public override Task<RuntimeConfigResponse> RuntimeConfig(RuntimeConfigRequest request, ServerCallContext context) =>
        Task.FromResult(status.RuntimeConfig());

    public override Task<UpdateRuntimeConfigResponse> UpdateRuntimeConfig(UpdateRuntimeConfigRequest request, ServerCallContext context) =>
        Task.FromResult(status.UpdateRuntimeConfig(request));

    public override Task<RunPodSandboxResponse> RunPodSandbox(RunPodSandboxRequest request, ServerCallContext context) =>
        sandboxes.RunAsync(request, context.CancellationToken);

    public override Task<StopPodSandboxResponse> StopPodSandbox(StopPodSandboxRequest request, ServerCallContext context) =>
        sandboxes.StopAsync(request.PodSandboxId, context.CancellationToken);

    public override Task<RemovePodSandboxResponse> RemovePodSandbox(RemovePodSandboxRequest request, ServerCallContext context) =>
        sandboxes.RemoveAsync(request.PodSandboxId, context.CancellationToken);

    public override Task<PodSandboxStatusResponse> PodSandboxStatus(PodSandboxStatusRequest request, ServerCallContext context) =>
        sandboxes.StatusAsync(request.PodSandboxId, request.Verbose, context.CancellationToken);

    public override Task<ListPodSandboxResponse> ListPodSandbox(ListPodSandboxRequest request, ServerCallContext context) =>
        Task.FromResult(sandboxes.List(request.Filter));

    public override Task<CreateContainerResponse> CreateContainer(CreateContainerRequest request, ServerCallContext context) =>
        containers.CreateAsync(request, context.CancellationToken);

    public override Task<StartContainerResponse> StartContainer(StartContainerRequest request, ServerCallContext context) =>
        containers.StartAsync(request.ContainerId, context.CancellationToken);

    public override Task<StopContainerResponse> StopContainer(StopContainerRequest request, ServerCallContext context) =>
        containers.StopAsync(request.ContainerId, request.Timeout, context.CancellationToken);

    public override Task<RemoveContainerResponse> RemoveContainer(RemoveContainerRequest request, ServerCallContext context) =>
        containers.RemoveAsync(request.ContainerId, context.CancellationToken);

    public override Task<ListContainersResponse> ListContainers(ListContainersRequest request, ServerCallContext context) =>
        Task.FromResult(containers.List(request.Filter));

    public override Task<ContainerStatusResponse> ContainerStatus(ContainerStatusRequest request, ServerCallContext context) =>
        containers.StatusAsync(request.ContainerId, request.Verbose, context.CancellationToken);

    public override Task<UpdateContainerResourcesResponse> UpdateContainerResources(
        UpdateContainerResourcesRequest request, ServerCallContext context) =>
        containers.UpdateResourcesAsync(request, context.CancellationToken);

    public override Task<ReopenContainerLogResponse> ReopenContainerLog(ReopenContainerLogRequest request, ServerCallContext context) =>
        containers.ReopenLogAsync(request.ContainerId, context.CancellationToken);

    public override Task<ExecSyncResponse> ExecSync(ExecSyncRequest request, ServerCallContext context) =>
        execs.RunAsync(request, context.CancellationToken);

    public override Task<ExecResponse> Exec(ExecRequest request, ServerCallContext context) =>
        throw NotYet("Exec", "streaming exec (crictl exec -it, kubectl exec) is not served yet; ExecSync works (crictl exec -s)");

    public override Task<AttachResponse> Attach(AttachRequest request, ServerCallContext context) =>
        throw NotYet("Attach", "streaming attach is not served yet; container output is in its log file (crictl logs)");

    public override Task<PortForwardResponse> PortForward(PortForwardRequest request, ServerCallContext context) =>
        throw NotYet("PortForward", "streaming port forwarding is not served yet");

    public override Task<ContainerStatsResponse> ContainerStats(ContainerStatsRequest request, ServerCallContext context) =>
        stats.ContainerAsync(request.ContainerId, context.CancellationToken);

    public override Task<ListContainerStatsResponse> ListContainerStats(ListContainerStatsRequest request, ServerCallContext context) =>
        stats.ListContainersAsync(request.Filter, context.CancellationToken);

    public override Task<PodSandboxStatsResponse> PodSandboxStats(PodSandboxStatsRequest request, ServerCallContext context) =>
        stats.SandboxAsync(request.PodSandboxId, context.CancellationToken);

    public override Task<ListPodSandboxStatsResponse> ListPodSandboxStats(ListPodSandboxStatsRequest request, ServerCallContext context) =>
        stats.ListSandboxesAsync(request.Filter, context.CancellationToken);

    public override Task<CheckpointContainerResponse> CheckpointContainer(CheckpointContainerRequest request, ServerCallContext context) =>
        throw NotYet("CheckpointContainer", "container checkpoints through CRI are not served yet (ctr tasks checkpoint works)");

    public override Task GetContainerEvents(GetEventsRequest request, IServerStreamWriter<ContainerEventResponse> responseStream, ServerCallContext context) =>
        throw NotYet("GetContainerEvents", "container events are not served yet; the kubelet falls back to polling (generic PLEG)");

    public override Task<ListMetricDescriptorsResponse> ListMetricDescriptors(ListMetricDescriptorsRequest request, ServerCallContext context) =>
        Task.FromResult(new ListMetricDescriptorsResponse());

    public override Task<ListPodSandboxMetricsResponse> ListPodSandboxMetrics(ListPodSandboxMetricsRequest request, ServerCallContext context) =>
        Task.FromResult(new ListPodSandboxMetricsResponse());

    public override Task<UpdatePodSandboxResourcesResponse> UpdatePodSandboxResources(
        UpdatePodSandboxResourcesRequest request, ServerCallContext context) =>
        throw NotYet("UpdatePodSandboxResources", "pod-level resource updates are not served yet");

    // The streaming lists (feature gate CRIListStreaming) send the whole list as one message.
    public override Task StreamPodSandboxes(
        StreamPodSandboxesRequest request, IServerStreamWriter<StreamPodSandboxesResponse> responseStream, ServerCallContext context) =>
        responseStream.WriteAsync(new StreamPodSandboxesResponse { PodSandboxes = { sandboxes.List(request.Filter).Items } }, context.CancellationToken);

    public override Task StreamContainers(
        StreamContainersRequest request, IServerStreamWriter<StreamContainersResponse> responseStream, ServerCallContext context) =>
        responseStream.WriteAsync(new StreamContainersResponse { Containers = { containers.List(request.Filter).Containers } }, context.CancellationToken);

    public override async Task StreamContainerStats(
        StreamContainerStatsRequest request, IServerStreamWriter<StreamContainerStatsResponse> responseStream, ServerCallContext context)
    {
        var list = await stats.ListContainersAsync(request.Filter, context.CancellationToken).ConfigureAwait(false);
        await responseStream.WriteAsync(new StreamContainerStatsResponse { ContainerStats = { list.Stats } }, context.CancellationToken).ConfigureAwait(false);
    }

    public override async Task StreamPodSandboxStats(
        StreamPodSandboxStatsRequest request, IServerStreamWriter<StreamPodSandboxStatsResponse> responseStream, ServerCallContext context)
    {
        var list = await stats.ListSandboxesAsync(request.Filter, context.CancellationToken).ConfigureAwait(false);
        await responseStream.WriteAsync(new StreamPodSandboxStatsResponse { PodSandboxStats = { list.Stats } }, context.CancellationToken).ConfigureAwait(false);
    }

    public override Task StreamPodSandboxMetrics(
        StreamPodSandboxMetricsRequest request, IServerStreamWriter<StreamPodSandboxMetricsResponse> responseStream, ServerCallContext context) =>
        responseStream.WriteAsync(new StreamPodSandboxMetricsResponse(), context.CancellationToken);

    private static RpcException NotYet(string method, string why) => RpcErrors.Unimplemented($"CRI {method}: {why}");
}
