using Status = Containerd.Api.Types.Status;
using Containerd.Shim.Reaper;

namespace Containerd.Shim.Process;

/// <summary>Reaped: exit status and time are known; stays in the table until DeleteProcess.</summary>
internal sealed class ExecStoppedState : ExecState
{
    public static readonly ExecStoppedState Instance = new();

    private ExecStoppedState()
    {
    }

    public override Status Status => Status.Stopped;

    public override string Name => "stopped";

    public override bool IsFinished => true;

    public override Task KillAsync(ExecProcess exec, int signal) =>
        throw ShimErrors.NotFound($"cannot kill {exec.Describe()}: process already finished");

    public override void Delete(ExecProcess exec)
    {
        exec.ReleaseIo();
        exec.MoveTo(ExecDeletedState.Instance);
    }

    public override bool Exited(ExecProcess exec, ProcessExit exit) => false;
}
