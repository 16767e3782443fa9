using Containerd.Api.Shim;
using Containerd.Shim.Io;
using Containerd.Shim.Reaper;
using Google.Protobuf;
using ApiProcessState = Containerd.Api.Shim.ProcessState;

namespace Containerd.Shim.Process;

/// <summary>
/// A process started in the container with runc exec --detach. It starts
/// running (exec and start are one step in this protocol) and stays in the
/// table, exit included, until DeleteProcess frees it.
/// </summary>
internal sealed class ExecProcess(
    string containerId, int pid, Stdio stdio, ProcessIo io, Task<ProcessExit> reaped, ByteString specJson, ExecSpec spec)
    : ShimProcess(containerId, pid, stdio, io, reaped, RunningState.Instance)
{
    /// <summary>The OCI process spec exactly as the client sent it.</summary>
    public ByteString SpecJson { get; } = specJson;

    public ExecSpec Spec { get; } = spec;

    public override bool IsInit => false;

    public override string Describe() => $"process {Pid} in task \"{ContainerId}\"";

    public override ApiProcessState ToState(Api.Types.Status reportedStatus)
    {
        var state = base.ToState(reportedStatus);
        state.Spec = SpecJson;
        return state;
    }

    public Api.Types.Process ToProcess(Api.Types.Status reportedStatus)
    {
        var process = new Api.Types.Process
        {
            Pid = (uint)Pid,
            Status = reportedStatus,
            ExitStatus = ExitStatus,
            Cwd = Spec.Cwd,
            Terminal = Spec.Terminal || Stdio.Terminal,
            User = Spec.User,
            Stdin = Stdio.Stdin,
            Stdout = Stdio.Stdout,
            Stderr = Stdio.Stderr,
        };
        process.Args.AddRange(Spec.Args);
        process.Env.AddRange(Spec.Env);
        return process;
    }
}
