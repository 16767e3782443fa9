using Status = Containerd.Api.Types.Status;
using Containerd.Shim.Reaper;

namespace Containerd.Shim.Process;

/// <summary>Deleted (by DeleteProcess or with its task): gone from the table; late callers get NotFound.</summary>
internal sealed class ExecDeletedState : ExecState
{
    public static readonly ExecDeletedState Instance = new();

    private ExecDeletedState()
    {
    }

    // The API has no "deleted" status; what a client learns is that it stopped.
    public override Status Status => Status.Stopped;

    public override string Name => "deleted";

    public override bool IsFinished => true;

    public override Task KillAsync(ExecProcess exec, int signal) =>
        throw ShimErrors.NotFound($"cannot kill {exec.Describe()}: it is deleted");

    public override void Delete(ExecProcess exec) =>
        throw ShimErrors.NotFound($"{exec.Describe()} is already deleted");

    public override void Drop(ExecProcess exec)
    {
    }

    public override bool Exited(ExecProcess exec, ProcessExit exit) => false;
}
