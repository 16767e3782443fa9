using Containerd.Api.Shim;
using Containerd.Daemon.Containers;
using Containerd.Daemon.Events;
using Containerd.Daemon.Hosting;
using Containerd.Daemon.Metadata;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Hosting;
using ExecutionApi = Containerd.Api.Execution;
using Types = Containerd.Api.Types;

namespace Containerd.Daemon.Tasks;

/// <summary>
/// The seed's Tasks API. Lifecycle (Create, Delete) lives in
/// <see cref="TaskLifecycle"/>; everything else is forwarded to the task's
/// shim, whose status codes and messages reach the client unchanged. A task
/// whose shim died is answered for by the daemon, as the shim would answer
/// for a stopped task (Info/List STOPPED, Kill NotFound, Exec and Start
/// FailedPrecondition), until Delete removes it.
/// </summary>
public sealed class TasksService(
    TaskLifecycle lifecycle,
    TaskRegistry registry,
    ContainerStore containers,
    EventExchange exchange,
    IHostApplicationLifetime lifetime) : ExecutionApi.Tasks.TasksBase
{
    private const int MaxSignal = 64;
    private static readonly TimeSpan ListStateTimeout = TimeSpan.FromSeconds(5);

    public override async Task<ExecutionApi.CreateResponse> Create(ExecutionApi.CreateRequest request, ServerCallContext context)
    {
        var @namespace = RequestNamespace.Of(context);
        var pid = await lifecycle.CreateAsync(@namespace, request, context.CancellationToken).ConfigureAwait(false);
        return new ExecutionApi.CreateResponse { ContainerId = request.ContainerId, Pid = pid };
    }

    public override async Task<Empty> Start(ExecutionApi.StartRequest request, ServerCallContext context)
    {
        var task = await FindAsync(context, request.ContainerId).ConfigureAwait(false);
        RefuseIfBuried(task, "start");
        return await task.Shim.CallAsync((c, o) => c.StartAsync(new Empty(), o), context.CancellationToken).ConfigureAwait(false);
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
        if (task.Tombstone is not null)
            throw RpcErrors.NotFound($"process {request.Pid} not found in container \"{task.Id}\"");
        var deleted = await task.Shim.CallAsync(
            (c, o) => c.DeleteProcessAsync(new ShimPidRequest { Pid = request.Pid }, o), context.CancellationToken).ConfigureAwait(false);
        return new ExecutionApi.DeleteResponse { ContainerId = task.Id, ExitStatus = deleted.ExitStatus, ExitedAt = deleted.ExitedAt };
    }

    public override async Task<ExecutionApi.InfoResponse> Info(ExecutionApi.InfoRequest request, ServerCallContext context)
    {
        var task = await FindAsync(context, request.ContainerId).ConfigureAwait(false);
        var container = await containers.GetAsync(task.Namespace, task.Id, context.CancellationToken).ConfigureAwait(false);
        if (task.Tombstone is not null)
            return new ExecutionApi.InfoResponse { Task = DescribeBuried(task, container?.Spec) };
        var state = await task.Shim.CallAsync((c, o) => c.StateAsync(new Empty(), o), context.CancellationToken).ConfigureAwait(false);
        return new ExecutionApi.InfoResponse { Task = Describe(task, state, container?.Spec) };
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
        if (task.Tombstone is not null)
        {
            // As the shim answers for a finished process.
            throw request.PidOrAllCase == ExecutionApi.KillRequest.PidOrAllOneofCase.Pid && request.Pid != 0 && request.Pid != task.InitPid
                ? RpcErrors.NotFound($"process {request.Pid} not found in container \"{task.Id}\"")
                : RpcErrors.NotFound($"cannot kill task \"{task.Id}\": process already finished");
        }
        var kill = new ShimKillRequest { Signal = request.Signal };
        switch (request.PidOrAllCase)
        {
            case ExecutionApi.KillRequest.PidOrAllOneofCase.All:
                kill.All = request.All;
                break;
            case ExecutionApi.KillRequest.PidOrAllOneofCase.Pid:
                kill.Pid = request.Pid;
                break;
        }
        return await task.Shim.CallAsync((c, o) => c.KillAsync(kill, o), context.CancellationToken).ConfigureAwait(false);
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
        if (request.Terminal)
            throw RpcErrors.Unimplemented("terminal (pty) support is not implemented yet");
        if (task.Tombstone is not null)
            throw RpcErrors.FailedPrecondition($"cannot exec in task \"{task.Id}\": it is stopped");
        SpecJson.RequireObject(request.Spec, $"exec in task \"{task.Id}\"");
        var exec = new ShimExecRequest
        {
            Spec = request.Spec.Value,
            Stdio = new Stdio { Stdin = request.Stdin, Stdout = request.Stdout, Stderr = request.Stderr, Terminal = request.Terminal },
        };
        var started = await task.Shim.CallAsync((c, o) => c.ExecAsync(exec, o), context.CancellationToken).ConfigureAwait(false);
        return new ExecutionApi.ExecResponse { Pid = started.Pid };
    }

    public override async Task<Empty> Pty(ExecutionApi.PtyRequest request, ServerCallContext context)
    {
        var task = await FindAsync(context, request.ContainerId).ConfigureAwait(false);
        throw RpcErrors.Unimplemented($"task \"{task.Id}\": pty resize is not implemented yet (no terminal support)");
    }

    public override async Task<Empty> CloseStdin(ExecutionApi.CloseStdinRequest request, ServerCallContext context)
    {
        var task = await FindAsync(context, request.ContainerId).ConfigureAwait(false);
        if (task.Tombstone is not null)
        {
            // The init's stdin went with its shim; any other pid is unknown.
            return request.Pid == 0 || request.Pid == task.InitPid
                ? new Empty()
                : throw RpcErrors.NotFound($"process {request.Pid} not found in container \"{task.Id}\"");
        }
        return await task.Shim.CallAsync(
            (c, o) => c.CloseStdinAsync(new ShimPidRequest { Pid = request.Pid }, o), context.CancellationToken).ConfigureAwait(false);
    }

    public override async Task<Empty> Pause(ExecutionApi.PauseRequest request, ServerCallContext context)
    {
        var task = await FindAsync(context, request.ContainerId).ConfigureAwait(false);
        RefuseIfBuried(task, "pause");
        return await task.Shim.CallAsync((c, o) => c.PauseAsync(new Empty(), o), context.CancellationToken).ConfigureAwait(false);
    }

    public override async Task<Empty> Resume(ExecutionApi.ResumeRequest request, ServerCallContext context)
    {
        var task = await FindAsync(context, request.ContainerId).ConfigureAwait(false);
        RefuseIfBuried(task, "resume");
        return await task.Shim.CallAsync((c, o) => c.ResumeAsync(new Empty(), o), context.CancellationToken).ConfigureAwait(false);
    }

    public override async Task<ExecutionApi.ProcessesResponse> Processes(ExecutionApi.ProcessesRequest request, ServerCallContext context)
    {
        var task = await FindAsync(context, request.ContainerId).ConfigureAwait(false);
        var response = new ExecutionApi.ProcessesResponse();
        if (task.Tombstone is { } buried)
        {
            response.Processes.Add(new Types.Process
            {
                Pid = task.InitPid,
                Status = Types.Status.Stopped,
                ExitStatus = buried.ExitStatus,
                Terminal = task.Stdio.Terminal,
                Stdin = task.Stdio.Stdin,
                Stdout = task.Stdio.Stdout,
                Stderr = task.Stdio.Stderr,
            });
            return response;
        }
        var listed = await task.Shim.CallAsync((c, o) => c.ProcessesAsync(new Empty(), o), context.CancellationToken).ConfigureAwait(false);
        response.Processes.Add(listed.Processes);
        return response;
    }

    public override async Task<ExecutionApi.CheckpointResponse> Checkpoint(ExecutionApi.CheckpointRequest request, ServerCallContext context)
    {
        var task = await FindAsync(context, request.ContainerId).ConfigureAwait(false);
        throw RpcErrors.Unimplemented($"task \"{task.Id}\": checkpoint is not implemented yet");
    }

    /// <summary>
    /// The task, buried first if its shim has just died: every call then answers
    /// as for a stopped task, instead of failing on a shim that is gone.
    /// </summary>
    private async Task<RunningTask> FindAsync(ServerCallContext context, string containerId)
    {
        var @namespace = RequestNamespace.Of(context);
        var id = RequestNamespace.ValidId(containerId);
        if (!registry.TryGet(@namespace, id, out var task))
            throw RpcErrors.TaskNotFound(@namespace, id);
        await lifecycle.RefreshAsync(task, context.CancellationToken).ConfigureAwait(false);
        return task;
    }

    private static void RefuseIfBuried(RunningTask task, string verb)
    {
        if (task.Tombstone is not null)
            throw RpcErrors.FailedPrecondition($"cannot {verb} task \"{task.Id}\": it is stopped");
    }

    private async Task<Types.Task> DescribeForListAsync(RunningTask task, CancellationToken cancellationToken)
    {
        await lifecycle.RefreshAsync(task, cancellationToken).ConfigureAwait(false);
        var container = await containers.GetAsync(task.Namespace, task.Id, cancellationToken).ConfigureAwait(false);
        if (task.Tombstone is not null)
            return DescribeBuried(task, container?.Spec);
        try
        {
            var state = await task.Shim.CallAsync((c, o) => c.StateAsync(new Empty(), o), cancellationToken, ListStateTimeout)
                .ConfigureAwait(false);
            return Describe(task, state, container?.Spec);
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded)
        {
            // One dead or hung shim must not hide the other tasks; it shows as UNKNOWN.
            return new Types.Task { Id = task.Id, ContainerId = task.Id, Pid = task.InitPid, Status = Types.Status.Unknown, Spec = container?.Spec };
        }
    }

    private static Types.Task DescribeBuried(RunningTask task, Any? spec) => new()
    {
        Id = task.Id,
        ContainerId = task.Id,
        Pid = task.InitPid,
        Status = Types.Status.Stopped,
        Spec = spec,
        Stdin = task.Stdio.Stdin,
        Stdout = task.Stdio.Stdout,
        Stderr = task.Stdio.Stderr,
        Terminal = task.Stdio.Terminal,
    };

    private static Types.Task Describe(RunningTask task, ShimStateResponse state, Any? spec)
    {
        var init = state.Init;
        return new Types.Task
        {
            Id = task.Id,
            ContainerId = task.Id,
            Pid = init?.Pid ?? task.InitPid,
            Status = init?.Status ?? Types.Status.Unknown,
            Spec = spec,
            Stdin = init?.Stdio?.Stdin ?? "",
            Stdout = init?.Stdio?.Stdout ?? "",
            Stderr = init?.Stdio?.Stderr ?? "",
            Terminal = init?.Stdio?.Terminal ?? false,
        };
    }
}
