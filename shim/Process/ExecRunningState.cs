using Status = Containerd.Api.Types.Status;

namespace Containerd.Shim.Process;

internal sealed class ExecRunningState : ExecState
{
    public static readonly ExecRunningState Instance = new();

    private ExecRunningState()
    {
    }

    public override Status Status => Status.Running;

    public override string Name => "running";
}
