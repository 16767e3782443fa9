using Status = Containerd.Api.Types.Status;
using Containerd.Shim.Reaper;

namespace Containerd.Shim.Process;

/// <summary>Deleted: only its exit is remembered, until the shim shuts down.</summary>
internal sealed class InitDeletedState : InitState
{
    public static readonly InitDeletedState Instance = new();

    private InitDeletedState()
    {
    }

    // The API has no "deleted" status; what a client learns is that it stopped.
    public override Status Status => Status.Stopped;

    public override string Name => "deleted";

    public override bool IsFinished => true;

    public override Task KillAsync(InitProcess init, int signal, bool all) =>
        throw ShimErrors.NotFound($"cannot kill {init.Describe()}: it is deleted");

    public override Task DeleteAsync(InitProcess init, IContainerTeardown teardown) =>
        throw ShimErrors.NotFound($"{init.Describe()} is already deleted");

    /// <summary>Nothing is left to remove.</summary>
    public override Task ForceDeleteAsync(InitProcess init, IContainerTeardown teardown) => Task.CompletedTask;

    public override bool Exited(InitProcess init, ProcessExit exit) => false;
}
