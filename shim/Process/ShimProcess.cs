using Containerd.Api.Shim;
using Containerd.Shim.Io;
using Containerd.Shim.Reaper;
using Google.Protobuf.WellKnownTypes;
using ApiProcessState = Containerd.Api.Shim.ProcessState;

namespace Containerd.Shim.Process;

/// <summary>
/// A container process the shim tracks: the init or an exec'd one. Its state
/// changes only under the task's lock; <see cref="Reaped"/> completes from the
/// reaper thread when the kernel reports its exit.
/// </summary>
internal abstract class ShimProcess
{
    protected ShimProcess(string containerId, int pid, Stdio stdio, ProcessIo io, Task<ProcessExit> reaped, ProcessState initial)
    {
        ContainerId = containerId;
        Pid = pid;
        Stdio = stdio;
        Io = io;
        Reaped = reaped;
        State = initial;
    }

    public string ContainerId { get; }

    public int Pid { get; }

    public Stdio Stdio { get; }

    /// <summary>Null once released (deleted).</summary>
    public ProcessIo? Io { get; private set; }

    public Task<ProcessExit> Reaped { get; }

    public ProcessState State { get; private set; }

    public uint ExitStatus { get; private set; }

    public DateTime? ExitedAt { get; private set; }

    public abstract bool IsInit { get; }

    /// <summary>How messages name it: <c>task "x"</c> or <c>process 12 in task "x"</c>.</summary>
    public abstract string Describe();

    public void Transition(ProcessState next) => State = next;

    /// <summary>Records the exit once; returns false when it was already recorded.</summary>
    public bool SetExited(ProcessExit exit)
    {
        if (State.IsFinished)
            return false;
        State = State.Exited(this);
        ExitStatus = (uint)exit.Status;
        ExitedAt = exit.ExitedAt;
        return true;
    }

    public void ReleaseIo()
    {
        Io?.Dispose();
        Io = null;
    }

    public Timestamp? ExitedAtTimestamp =>
        ExitedAt is { } at ? Timestamp.FromDateTime(DateTime.SpecifyKind(at, DateTimeKind.Utc)) : null;

    public virtual ApiProcessState ToState(Api.Types.Status reportedStatus) => new()
    {
        Pid = (uint)Pid,
        Status = reportedStatus,
        ExitStatus = ExitStatus,
        ExitedAt = ExitedAtTimestamp,
        Stdio = Stdio,
        Init = IsInit,
    };
}
