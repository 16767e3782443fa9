using Containerd.Api.Types;

namespace Containerd.Shim.Process;

/// <summary>Reaped: exit status and time are known; waits for Delete/DeleteProcess.</summary>
internal sealed class StoppedState : ProcessState
{
    public static readonly StoppedState Instance = new();

    private StoppedState()
    {
    }

    public override Status Status => Status.Stopped;

    public override string Name => "stopped";

    public override void CheckKill(ShimProcess process) =>
        throw ShimErrors.NotFound($"cannot kill {process.Describe()}: process already finished");

    public override ProcessState Delete(ShimProcess process) => DeletedState.Instance;

    public override ProcessState Exited(ShimProcess process) => this;
}
