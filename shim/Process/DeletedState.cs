using Containerd.Api.Types;

namespace Containerd.Shim.Process;

/// <summary>Deleted: only its exit is remembered (for the init, until the shim shuts down).</summary>
internal sealed class DeletedState : ProcessState
{
    public static readonly DeletedState Instance = new();

    private DeletedState()
    {
    }

    // The API has no "deleted" status; what a client learns is that it stopped.
    public override Status Status => Status.Stopped;

    public override string Name => "deleted";

    public override void CheckKill(ShimProcess process) =>
        throw ShimErrors.NotFound($"cannot kill {process.Describe()}: it is deleted");

    public override ProcessState Delete(ShimProcess process) =>
        throw ShimErrors.NotFound($"{process.Describe()} is already deleted");

    public override ProcessState Exited(ShimProcess process) => this;
}
