using Grpc.Core;
using Status = Containerd.Api.Types.Status;

namespace Containerd.Shim.Process;

/// <summary>
/// One state of a process's life, one type per state (as containerd's
/// process/*_state.go). Each state allows only its legal transitions; the
/// defaults refuse with FailedPrecondition naming the process and its state.
/// A transition method only validates and names the next state; the caller
/// runs runc and commits the returned state when runc succeeded.
/// States hold nothing, so each type has one shared immutable instance.
/// </summary>
internal abstract class ProcessState
{
    public abstract Status Status { get; }

    /// <summary>The state as a word for messages: "created", "running", ...</summary>
    public abstract string Name { get; }

    public virtual ProcessState Start(ShimProcess process) => throw Refuse(process, "start");

    public virtual ProcessState Pause(ShimProcess process) => throw Refuse(process, "pause");

    public virtual ProcessState Resume(ShimProcess process) => throw Refuse(process, "resume");

    /// <summary>Whether a new process may be exec'd into the container this init belongs to.</summary>
    public virtual void CheckExec(ShimProcess process) =>
        throw ShimErrors.FailedPrecondition($"cannot exec in {process.Describe()}: it is {Name}");

    public virtual void CheckKill(ShimProcess process)
    {
    }

    public virtual ProcessState Delete(ShimProcess process) => throw Refuse(process, "delete");

    /// <summary>The process was reaped.</summary>
    public virtual ProcessState Exited(ShimProcess process) => StoppedState.Instance;

    public bool IsFinished => this is StoppedState or DeletedState;

    protected RpcException Refuse(ShimProcess process, string verb) =>
        ShimErrors.FailedPrecondition($"cannot {verb} {process.Describe()}: it is {Name}");
}
