using Containerd.Shim.Runc;
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

    /// <summary>Allowed as in containerd: CRIU freezes the container anyway; a paused one stays paused (unless exit).</summary>
    public override Task CheckpointAsync(InitProcess init, CheckpointOptions options) => init.RunCheckpointAsync(options);

    public override async Task ResumeAsync(InitProcess init)
    {
        await init.RunRuntimeAsync(runtime => runtime.ResumeAsync(), "resume").ConfigureAwait(false);
        init.MoveTo(InitRunningState.Instance);
    }

    public override Task UpdateAsync(InitProcess init, byte[] resourcesJson) => init.RunUpdateAsync(resourcesJson);
}
