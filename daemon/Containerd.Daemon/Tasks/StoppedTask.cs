using Containerd.Api.Shim;
using Containerd.Daemon.Hosting;
using Containerd.Shared.Tasks;
using Google.Protobuf.WellKnownTypes;
using ExecutionApi = Containerd.Api.Execution;
using Types = Containerd.Api.Types;

namespace Containerd.Daemon.Tasks;

/// <summary>
/// A task whose shim died: everything it held is already removed, and the
/// daemon answers for it from its <see cref="TaskTombstone"/> the way a shim
/// answers for a stopped task (Info/List STOPPED, Kill and DeleteProcess
/// NotFound, Exec/Start/Pause/Resume FailedPrecondition), so clients still
/// learn how it ended, until Delete removes it. Its execs are deletable
/// (DeleteProcess answers with the exit the tombstone kept, then forgets it).
/// </summary>
/// <param name="persist">Records the tombstone again after an exec was deleted, so a restart does not bring it back.</param>
public sealed class StoppedTask(
    string @namespace, string id, uint initPid, Stdio stdio, TaskTombstone tombstone, Action<TaskTombstone>? persist = null) : ITask
{
    private readonly Lock _gate = new();
    private TaskTombstone _tombstone = tombstone;

    public string Namespace { get; } = @namespace;

    public string Id { get; } = id;

    public uint InitPid { get; } = initPid;

    public Stdio Stdio { get; } = stdio;

    public TaskTombstone Tombstone
    {
        get
        {
            lock (_gate)
                return _tombstone;
        }
    }

    public Task<Types.Task> DescribeAsync(Any? spec, CancellationToken cancellationToken) =>
        Task.FromResult(TaskReplies.Task(Id, InitPid, Types.Status.Stopped, Stdio, spec));

    public Task<Types.Task> DescribeForListAsync(Any? spec, CancellationToken cancellationToken) =>
        DescribeAsync(spec, cancellationToken);

    public Task<Empty> StartAsync(CancellationToken cancellationToken) => Refused("start");

    /// <summary>As the shim answers for a finished process.</summary>
    public Task<Empty> KillAsync(ExecutionApi.KillRequest request, CancellationToken cancellationToken) =>
        Task.FromException<Empty>(
            request.PidOrAllCase == ExecutionApi.KillRequest.PidOrAllOneofCase.Pid && request.Pid != 0 && request.Pid != InitPid
                ? Tombstone.Exec(request.Pid) is null
                    ? ProcessNotFound(request.Pid)
                    : RpcErrors.NotFound($"cannot kill process {request.Pid} of task \"{Id}\": process already finished")
                : RpcErrors.NotFound($"cannot kill task \"{Id}\": process already finished"));

    public Task<uint> ExecAsync(ExecutionApi.ExecRequest request, CancellationToken cancellationToken) =>
        Task.FromException<uint>(RpcErrors.FailedPrecondition($"cannot exec in task \"{Id}\": it is stopped"));

    /// <summary>An exec the tombstone holds: its exit, once; any other pid is unknown.</summary>
    public Task<ExecutionApi.DeleteResponse> DeleteProcessAsync(uint pid, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_tombstone.Exec(pid) is not { } exec)
                return Task.FromException<ExecutionApi.DeleteResponse>(ProcessNotFound(pid));
            _tombstone = _tombstone.WithoutExec(pid);
            persist?.Invoke(_tombstone);
            return Task.FromResult(new ExecutionApi.DeleteResponse { ContainerId = Id, ExitStatus = exec.ExitStatus, ExitedAt = exec.ExitedAt });
        }
    }

    /// <summary>Stdin went with the shim, so closing the init's or a kept exec's succeeds; any other pid is unknown.</summary>
    public Task<Empty> CloseStdinAsync(uint pid, CancellationToken cancellationToken) =>
        pid == 0 || pid == InitPid || Tombstone.Exec(pid) is not null
            ? Task.FromResult(new Empty())
            : Task.FromException<Empty>(ProcessNotFound(pid));

    /// <summary>
    /// As the shim answers for an exited process: its terminal went with the
    /// shim, so a resize is harmless and succeeds; an init without a terminal
    /// is FailedPrecondition, any other unknown pid NotFound.
    /// </summary>
    public Task<Empty> ResizePtyAsync(uint pid, uint width, uint height, CancellationToken cancellationToken)
    {
        if (pid == 0 || pid == InitPid)
        {
            return Stdio.Terminal
                ? Task.FromResult(new Empty())
                : Task.FromException<Empty>(RpcErrors.FailedPrecondition($"process {InitPid} in task \"{Id}\" has no terminal"));
        }
        return Tombstone.Exec(pid) is not null ? Task.FromResult(new Empty()) : Task.FromException<Empty>(ProcessNotFound(pid));
    }

    /// <summary>As containerd answers ReopenContainerLog for a container that is not running.</summary>
    public Task<Empty> ReopenLogAsync(uint pid, CancellationToken cancellationToken) =>
        pid == 0 || pid == InitPid || Tombstone.Exec(pid) is not null
            ? Task.FromException<Empty>(RpcErrors.FailedPrecondition($"container \"{Id}\" is not running"))
            : Task.FromException<Empty>(ProcessNotFound(pid));

    public Task<Empty> PauseAsync(CancellationToken cancellationToken) => Refused("pause");

    /// <summary>As the shim refuses a stopped init: its cgroup is gone.</summary>
    public Task<Empty> UpdateAsync(string linuxResourcesJson, CancellationToken cancellationToken) =>
        Task.FromException<Empty>(RpcErrors.FailedPrecondition($"task \"{Id}\" is not running (it is stopped): cannot update its resources"));

    public Task<Empty> CheckpointAsync(ShimCheckpointRequest request, CancellationToken cancellationToken) => Refused("checkpoint");

    public Task<Empty> ResumeAsync(CancellationToken cancellationToken) => Refused("resume");

    public Task<IReadOnlyList<Types.Process>> ProcessesAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<Types.Process>>(
            [TaskReplies.Process(InitPid, Types.Status.Stopped, Tombstone.ExitStatus, Stdio)]);

    private Task<Empty> Refused(string verb) =>
        Task.FromException<Empty>(RpcErrors.FailedPrecondition($"cannot {verb} task \"{Id}\": it is stopped"));

    private Grpc.Core.RpcException ProcessNotFound(uint pid) =>
        RpcErrors.NotFound($"process {pid} not found in container \"{Id}\"");
}
