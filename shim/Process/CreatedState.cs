using Containerd.Api.Types;

namespace Containerd.Shim.Process;

/// <summary>runc create ran: the init process exists and waits for runc start.</summary>
internal sealed class CreatedState : ProcessState
{
    public static readonly CreatedState Instance = new();

    private CreatedState()
    {
    }

    public override Status Status => Status.Created;

    public override string Name => "created";

    public override ProcessState Start(ShimProcess process) => RunningState.Instance;

    public override void CheckExec(ShimProcess process)
    {
    }

    /// <summary>Allowed: the caller kills the never-started init first.</summary>
    public override ProcessState Delete(ShimProcess process) => DeletedState.Instance;
}
