using Containerd.Shim.Reaper;
using Containerd.Shim.Runc;

namespace Containerd.Shim.Process;

/// <summary>
/// One state of the init's life (containerd's process/init_state.go). A state
/// performs its legal transitions itself: it runs the runtime operation
/// through the init and moves the init on once the operation succeeded. The
/// defaults refuse with FailedPrecondition naming the task and its state.
/// Operations are called under the init's lock; <see cref="Exited"/> under its state gate alone.
/// </summary>
internal abstract class InitState : ProcessState
{
    public virtual Task StartAsync(InitProcess init) => throw Refuse(init, "start");

    public virtual Task PauseAsync(InitProcess init) => throw Refuse(init, "pause");

    public virtual Task ResumeAsync(InitProcess init) => throw Refuse(init, "resume");

    /// <summary>runc update: only a container with a cgroup (created, running, paused, as containerd) can be updated.</summary>
    public virtual Task UpdateAsync(InitProcess init, byte[] resourcesJson) =>
        throw ShimErrors.FailedPrecondition($"{init.Describe()} is not running (it is {Name}): cannot update its resources");

    /// <summary>runc checkpoint: only a live container (running or paused, as containerd) has a process tree to dump.</summary>
    public virtual Task CheckpointAsync(InitProcess init, CheckpointOptions options) => throw Refuse(init, "checkpoint");

    /// <summary>Created, running and paused inits can be signalled (runc allows SIGKILL to a created one).</summary>
    public virtual Task KillAsync(InitProcess init, int signal, bool all) => init.SignalLockedAsync(signal, all);

    /// <summary>Whether a new process may be exec'd into the container.</summary>
    public virtual void CheckExec(InitProcess init) =>
        throw ShimErrors.FailedPrecondition($"cannot exec in {init.Describe()}: it is {Name}");

    public virtual Task DeleteAsync(InitProcess init, IContainerTeardown teardown) => throw Refuse(init, "delete");

    /// <summary>A forced shutdown removes the task whatever its state.</summary>
    public virtual Task ForceDeleteAsync(InitProcess init, IContainerTeardown teardown) => init.RemoveLockedAsync(teardown, strict: false);

    /// <summary>Under the state gate: the init was reaped: its exit is kept and it stops. False when an exit was already recorded.</summary>
    public virtual bool Exited(InitProcess init, ProcessExit exit)
    {
        init.SetExit(exit);
        init.MoveTo(InitStoppedState.Instance);
        init.PublishExitGated(exit);
        return true;
    }
}
