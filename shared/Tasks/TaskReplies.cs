using Google.Protobuf.WellKnownTypes;
using Stdio = Containerd.Api.Shim.Stdio;
using Types = Containerd.Api.Types;

namespace Containerd.Shared.Tasks;

/// <summary>
/// How a task and a process are described to clients (Info, List,
/// Processes), whether the shim answers or the daemon answers for a task
/// whose shim is gone: one shape, built in one place.
/// </summary>
public static class TaskReplies
{
    public static Types.Task Task(string id, uint pid, Types.Status status, Stdio? stdio, Any? spec) => new()
    {
        Id = id,
        ContainerId = id,
        Pid = pid,
        Status = status,
        Spec = spec,
        Stdin = stdio?.Stdin ?? "",
        Stdout = stdio?.Stdout ?? "",
        Stderr = stdio?.Stderr ?? "",
        Terminal = stdio?.Terminal ?? false,
    };

    public static Types.Process Process(uint pid, Types.Status status, uint exitStatus, Stdio? stdio) => new()
    {
        Pid = pid,
        Status = status,
        ExitStatus = exitStatus,
        Stdin = stdio?.Stdin ?? "",
        Stdout = stdio?.Stdout ?? "",
        Stderr = stdio?.Stderr ?? "",
        Terminal = stdio?.Terminal ?? false,
    };
}
