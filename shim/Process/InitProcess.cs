using Containerd.Api.Shim;
using Containerd.Shim.Io;
using Containerd.Shim.Reaper;

namespace Containerd.Shim.Process;

/// <summary>The container's init process (runc create/start).</summary>
internal sealed class InitProcess(string containerId, int pid, Stdio stdio, ProcessIo io, Task<ProcessExit> reaped)
    : ShimProcess(containerId, pid, stdio, io, reaped, CreatedState.Instance)
{
    public override bool IsInit => true;

    public override string Describe() => $"task \"{ContainerId}\"";
}
