using Containerd.Api.Types;

namespace Containerd.Shim.Process;

internal sealed class RunningState : ProcessState
{
    public static readonly RunningState Instance = new();

    private RunningState()
    {
    }

    public override Status Status => Status.Running;

    public override string Name => "running";

    public override ProcessState Pause(ShimProcess process) =>
        process.IsInit ? PausedState.Instance : throw Refuse(process, "pause");

    public override void CheckExec(ShimProcess process)
    {
    }
}
