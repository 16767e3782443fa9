using Grpc.Core;
using Status = Containerd.Api.Types.Status;

namespace Containerd.Shim.Process;

/// <summary>
/// What every state of a process (init or exec) tells about itself. The
/// transitions live in <see cref="InitState"/> and
/// <see cref="ExecState"/>: the two kinds of process allow different moves.
/// States hold nothing, so each type has one shared immutable instance.
/// </summary>
internal abstract class ProcessState
{
    public abstract Status Status { get; }

    /// <summary>The state as a word for messages: "created", "running", ...</summary>
    public abstract string Name { get; }

    /// <summary>Exited (stopped) or deleted: its exit is recorded.</summary>
    public virtual bool IsFinished => false;

    /// <summary>An illegal transition: FailedPrecondition naming the process and its state.</summary>
    protected RpcException Refuse(ShimProcess process, string verb) =>
        ShimErrors.FailedPrecondition($"cannot {verb} {process.Describe()}: it is {Name}");
}
