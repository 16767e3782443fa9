using Containerd.Shim.Runc;
using Status = Containerd.Api.Types.Status;

namespace Containerd.Shim.Process;

internal sealed class InitRunningState : InitState
{
    public static readonly InitRunningState Instance = new();

    private InitRunningState()
    {
    }

    public override Status Status => Status.Running;

    public override string Name => "running";

    /// <summary>With exit the container stops once dumped; its EXIT follows as for any exit.</summary>
    public override Task CheckpointAsync(InitProcess init, CheckpointOptions options) => init.RunCheckpointAsync(options);

    public override async Task PauseAsync(InitProcess init)
    {
        await init.RunRuntimeAsync(runtime => runtime.PauseAsync(), "pause").ConfigureAwait(false);
        init.MoveTo(InitPausedState.Instance, () => init.Observer.Paused(init));
    }

    public override void CheckExec(InitProcess init)
    {
    }

    public override Task UpdateAsync(InitProcess init, byte[] resourcesJson) => init.RunUpdateAsync(resourcesJson);
}
