using Containerd.Api.Types;

namespace Containerd.Shim.Process;

/// <summary>The container's cgroup is frozen (runc pause).</summary>
internal sealed class PausedState : ProcessState
{
    public static readonly PausedState Instance = new();

    private PausedState()
    {
    }

    public override Status Status => Status.Paused;

    public override string Name => "paused";

    public override ProcessState Resume(ShimProcess process) => RunningState.Instance;
}
