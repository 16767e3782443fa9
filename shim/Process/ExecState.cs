using Containerd.Shim.Reaper;

namespace Containerd.Shim.Process;

/// <summary>
/// One state of an exec'd process (containerd's process/exec_state.go). An
/// exec is born running: exec and start are one step in this protocol.
/// Operations are called under the exec's lock; <see cref="Exited"/> under its state gate alone.
/// </summary>
internal abstract class ExecState : ProcessState
{
    public virtual Task KillAsync(ExecProcess exec, int signal) => exec.SignalLocked(signal);

    public virtual void Delete(ExecProcess exec) => throw Refuse(exec, "delete");

    /// <summary>The task is going: the exec is deleted whatever its state.</summary>
    public virtual void Drop(ExecProcess exec)
    {
        exec.ReleaseIo();
        exec.MoveTo(ExecDeletedState.Instance);
    }

    /// <summary>The exec was reaped: its exit is kept and it stops. False when an exit was already recorded.</summary>
    public virtual bool Exited(ExecProcess exec, ProcessExit exit)
    {
        exec.SetExit(exit);
        exec.MoveTo(ExecStoppedState.Instance);
        exec.Observer.Exited(exec, exit);
        return true;
    }
}
