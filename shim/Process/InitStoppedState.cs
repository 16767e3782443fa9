using Status = Containerd.Api.Types.Status;
using Containerd.Shim.Reaper;

namespace Containerd.Shim.Process;

/// <summary>Reaped: exit status and time are known; waits for Delete.</summary>
internal sealed class InitStoppedState : InitState
{
    public static readonly InitStoppedState Instance = new();

    private InitStoppedState()
    {
    }

    public override Status Status => Status.Stopped;

    public override string Name => "stopped";

    public override bool IsFinished => true;

    public override Task KillAsync(InitProcess init, int signal, bool all) =>
        throw ShimErrors.NotFound($"cannot kill {init.Describe()}: process already finished");

    public override Task DeleteAsync(InitProcess init, IContainerTeardown teardown) => init.RemoveLockedAsync(teardown, strict: true);

    public override bool Exited(InitProcess init, ProcessExit exit) => false;
}
