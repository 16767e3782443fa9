using Containerd.Api.Shim;
using Google.Protobuf.WellKnownTypes;
using ExecutionApi = Containerd.Api.Execution;
using Types = Containerd.Api.Types;

namespace Containerd.Daemon.Tasks;

/// <summary>
/// A task the daemon knows: a <see cref="LiveTask"/> whose shim answers, or a
/// <see cref="StoppedTask"/> whose shim died and which answers for itself, as
/// a shim answers for a stopped task, until Delete removes it. Requests reach
/// these methods validated (ids, pids, signals); what is left to decide is
/// what the task's state makes of them.
/// </summary>
public interface ITask
{
    string Namespace { get; }

    string Id { get; }

    uint InitPid { get; }

    /// <summary>For Info: the task as its shim (or its tombstone) describes it.</summary>
    Task<Types.Task> DescribeAsync(Any? spec, CancellationToken cancellationToken);

    /// <summary>For List: as <see cref="DescribeAsync"/>, but a shim that cannot answer shows as UNKNOWN instead of failing the list.</summary>
    Task<Types.Task> DescribeForListAsync(Any? spec, CancellationToken cancellationToken);

    Task<Empty> StartAsync(CancellationToken cancellationToken);

    Task<Empty> KillAsync(ExecutionApi.KillRequest request, CancellationToken cancellationToken);

    Task<uint> ExecAsync(ExecutionApi.ExecRequest request, CancellationToken cancellationToken);

    /// <summary>Removes a finished exec; <paramref name="pid"/> is neither 0 nor the init.</summary>
    Task<ExecutionApi.DeleteResponse> DeleteProcessAsync(uint pid, CancellationToken cancellationToken);

    Task<Empty> CloseStdinAsync(uint pid, CancellationToken cancellationToken);

    /// <summary>Pty: resizes a process's terminal (pid 0: the init); the size is already checked.</summary>
    Task<Empty> ResizePtyAsync(uint pid, uint width, uint height, CancellationToken cancellationToken);

    /// <summary>
    /// ReopenContainerLog: the shim reopens the CRI log file (a
    /// <see cref="Containerd.Shared.Tasks.CriLogTarget"/> stdout/stderr) of a
    /// process by its path, after the kubelet renamed the old one; pid 0 is
    /// the init. FailedPrecondition when the process is not running or has no
    /// CRI log target (<c>container "ID" is not running</c> for a stopped
    /// task), NotFound for an unknown pid.
    /// </summary>
    Task<Empty> ReopenLogAsync(uint pid, CancellationToken cancellationToken);

    /// <summary>
    /// runc update of the init's cgroup with an OCI LinuxResources object
    /// (JSON, e.g. from <see cref="Cri.Specs.LinuxResourcesJson"/>): for a
    /// created, running or paused task; FailedPrecondition once it stopped.
    /// </summary>
    Task<Empty> UpdateAsync(string linuxResourcesJson, CancellationToken cancellationToken);

    Task<Empty> PauseAsync(CancellationToken cancellationToken);

    Task<Empty> ResumeAsync(CancellationToken cancellationToken);

    Task<IReadOnlyList<Types.Process>> ProcessesAsync(CancellationToken cancellationToken);

    /// <summary>runc checkpoint into the request's directories (made and removed by the caller); FailedPrecondition unless running or paused.</summary>
    Task<Empty> CheckpointAsync(ShimCheckpointRequest request, CancellationToken cancellationToken);
}
