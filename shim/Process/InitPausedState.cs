using Status = Containerd.Api.Types.Status;

namespace Containerd.Shim.Process;

/// <summary>The container's cgroup is frozen (runc pause).</summary>
internal sealed class InitPausedState : InitState
{
    public static readonly InitPausedState Instance = new();

    private InitPausedState()
    {
    }

    public override Status Status => Status.Paused;

    public override string Name => "paused";

    public override async Task ResumeAsync(InitProcess init)
    {
        await init.RunRuntimeAsync(runtime => runtime.ResumeAsync(), "resume").ConfigureAwait(false);
        init.MoveTo(InitRunningState.Instance);
    }
}
