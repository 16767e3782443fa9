using Containerd.Daemon.Containers;
using Containerd.Daemon.Events;
using Containerd.Daemon.Hosting;
using Containerd.Daemon.Metadata;
using Containerd.Shared.Tasks;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Hosting;
using ExecutionApi = Containerd.Api.Execution;
using Types = Containerd.Api.Types;

namespace Containerd.Daemon.Tasks;

/// <summary>
/// The seed's Tasks API. Lifecycle (Create, Delete) lives in
/// <see cref="TaskLifecycle"/>; everything else validates the request and
/// hands it to the task: a <see cref="LiveTask"/> forwards it to its shim,
/// a <see cref="StoppedTask"/> answers as a shim answers for a stopped task.
/// </summary>
public sealed class TasksService(
    TaskLifecycle lifecycle,
    TaskCheckpoints checkpoints,
    TaskRegistry registry,
    ContainerStore containers,
    EventExchange exchange,
    IHostApplicationLifetime lifetime) : ExecutionApi.Tasks.TasksBase
{
    private const int MaxSignal = 64;

    public override async Task<ExecutionApi.CreateResponse> Create(ExecutionApi.CreateRequest request, ServerCallContext context)
    {
        var @namespace = RequestNamespace.Of(context);
        var pid = await lifecycle.CreateAsync(@namespace, request, context.CancellationToken).ConfigureAwait(false);
        return new ExecutionApi.CreateResponse { ContainerId = request.ContainerId, Pid = pid };
    }

    public override async Task<Empty> Start(ExecutionApi.StartRequest request, ServerCallContext context)
    {
        var task = await FindAsync(context, request.ContainerId).ConfigureAwait(false);
        return await task.StartAsync(context.CancellationToken).ConfigureAwait(false);
    }

    public override Task<ExecutionApi.DeleteResponse> Delete(ExecutionApi.DeleteRequest request, ServerCallContext context)
    {
        var @namespace = RequestNamespace.Of(context);
        var id = RequestNamespace.ValidId(request.ContainerId);
        return lifecycle.DeleteAsync(@namespace, id, context.CancellationToken);
    }

    public override async Task<ExecutionApi.DeleteResponse> DeleteProcess(ExecutionApi.DeleteProcessRequest request, ServerCallContext context)
    {
        var task = await FindAsync(context, request.ContainerId).ConfigureAwait(false);
        if (request.Pid == 0)
            throw RpcErrors.InvalidArgument($"task \"{task.Id}\": pid is required");
        if (request.Pid == task.InitPid)
            throw RpcErrors.InvalidArgument(
                $"pid {request.Pid} is the init process of task \"{task.Id}\"; use Delete to remove the task");
        return await task.DeleteProcessAsync(request.Pid, context.CancellationToken).ConfigureAwait(false);
    }

    public override async Task<ExecutionApi.InfoResponse> Info(ExecutionApi.InfoRequest request, ServerCallContext context)
    {
        var task = await FindAsync(context, request.ContainerId).ConfigureAwait(false);
        var container = await containers.GetAsync(task.Namespace, task.Id, context.CancellationToken).ConfigureAwait(false);
        return new ExecutionApi.InfoResponse { Task = await task.DescribeAsync(container?.Spec, context.CancellationToken).ConfigureAwait(false) };
    }

    public override async Task<ExecutionApi.ListResponse> List(ExecutionApi.ListRequest request, ServerCallContext context)
    {
        var @namespace = RequestNamespace.Of(context);
        var tasks = registry.InNamespace(@namespace);
        var described = await Task.WhenAll(tasks.Select(t => DescribeForListAsync(t, context.CancellationToken))).ConfigureAwait(false);
        var response = new ExecutionApi.ListResponse();
        response.Tasks.Add(described);
        return response;
    }

    public override async Task<Empty> Kill(ExecutionApi.KillRequest request, ServerCallContext context)
    {
        var task = await FindAsync(context, request.ContainerId).ConfigureAwait(false);
        if (request.Signal is < 1 or > MaxSignal)
            throw RpcErrors.InvalidArgument($"signal {request.Signal} for task \"{task.Id}\" is outside 1..{MaxSignal}");
        return await task.KillAsync(request, context.CancellationToken).ConfigureAwait(false);
    }

    public override async Task Events(
        ExecutionApi.EventsRequest request, IServerStreamWriter<Types.Event> responseStream, ServerCallContext context)
    {
        var @namespace = RequestNamespace.Of(context);
        // Daemon shutdown ends the stream, so it never holds the server open.
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        using var subscription = exchange.Subscribe(@namespace);
        // Headers now tell the client it is subscribed: it can act without racing its first event.
        await context.WriteResponseHeadersAsync(new Grpc.Core.Metadata()).ConfigureAwait(false);
        try
        {
            await foreach (var evt in subscription.ReadAllAsync(linked.Token).ConfigureAwait(false))
                await responseStream.WriteAsync(evt, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            throw RpcErrors.Unavailable(EventSubscription.ShuttingDownMessage);
        }
    }

    public override async Task<ExecutionApi.ExecResponse> Exec(ExecutionApi.ExecRequest request, ServerCallContext context)
    {
        var task = await FindAsync(context, request.ContainerId).ConfigureAwait(false);
        return new ExecutionApi.ExecResponse { Pid = await task.ExecAsync(request, context.CancellationToken).ConfigureAwait(false) };
    }

    public override async Task<Empty> Pty(ExecutionApi.PtyRequest request, ServerCallContext context)
    {
        var task = await FindAsync(context, request.ContainerId).ConfigureAwait(false);
        if (WindowSize.TryCreate(request.Width, request.Height, out var problem) is null)
            throw RpcErrors.InvalidArgument(
                $"cannot resize the terminal of {(request.Pid == 0 ? $"task \"{task.Id}\"" : $"process {request.Pid} in task \"{task.Id}\"")}: {problem}");
        return await task.ResizePtyAsync(request.Pid, request.Width, request.Height, context.CancellationToken).ConfigureAwait(false);
    }

    public override async Task<Empty> CloseStdin(ExecutionApi.CloseStdinRequest request, ServerCallContext context)
    {
        var task = await FindAsync(context, request.ContainerId).ConfigureAwait(false);
        return await task.CloseStdinAsync(request.Pid, context.CancellationToken).ConfigureAwait(false);
    }

    public override async Task<Empty> Pause(ExecutionApi.PauseRequest request, ServerCallContext context)
    {
        var task = await FindAsync(context, request.ContainerId).ConfigureAwait(false);
        return await task.PauseAsync(context.CancellationToken).ConfigureAwait(false);
    }

    public override async Task<Empty> Resume(ExecutionApi.ResumeRequest request, ServerCallContext context)
    {
        var task = await FindAsync(context, request.ContainerId).ConfigureAwait(false);
        return await task.ResumeAsync(context.CancellationToken).ConfigureAwait(false);
    }

    public override async Task<ExecutionApi.ProcessesResponse> Processes(ExecutionApi.ProcessesRequest request, ServerCallContext context)
    {
        var task = await FindAsync(context, request.ContainerId).ConfigureAwait(false);
        var response = new ExecutionApi.ProcessesResponse();
        response.Processes.Add(await task.ProcessesAsync(context.CancellationToken).ConfigureAwait(false));
        return response;
    }

    public override async Task<ExecutionApi.CheckpointResponse> Checkpoint(ExecutionApi.CheckpointRequest request, ServerCallContext context)
    {
        var task = await FindAsync(context, request.ContainerId).ConfigureAwait(false);
        return await checkpoints.CheckpointAsync(task, request, context.CancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The task as it is now: if its shim has just died it is buried first, so
    /// every call answers as for a stopped task instead of failing on a shim that is gone.
    /// </summary>
    private async Task<ITask> FindAsync(ServerCallContext context, string containerId)
    {
        var @namespace = RequestNamespace.Of(context);
        var id = RequestNamespace.ValidId(containerId);
        if (!registry.TryGet(@namespace, id, out var task))
            throw RpcErrors.TaskNotFound(@namespace, id);
        return await lifecycle.RefreshAsync(task, context.CancellationToken).ConfigureAwait(false);
    }

    private async Task<Types.Task> DescribeForListAsync(ITask task, CancellationToken cancellationToken)
    {
        task = await lifecycle.RefreshAsync(task, cancellationToken).ConfigureAwait(false);
        var container = await containers.GetAsync(task.Namespace, task.Id, cancellationToken).ConfigureAwait(false);
        return await task.DescribeForListAsync(container?.Spec, cancellationToken).ConfigureAwait(false);
    }
}
