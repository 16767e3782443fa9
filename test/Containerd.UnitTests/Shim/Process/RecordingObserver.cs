using Containerd.Shim.Process;
using Containerd.Shim.Reaper;

namespace Containerd.UnitTests.Shim.Process;

/// <summary>Records the transitions a process reports, in order.</summary>
internal sealed class RecordingObserver : IProcessObserver
{
    public List<string> Events { get; } = [];

    public void Started(InitProcess init) => Events.Add($"start {init.Pid}");

    public void Paused(InitProcess init) => Events.Add($"paused {init.Pid}");

    public void Exited(ShimProcess process, ProcessExit exit) => Events.Add($"exit {process.Pid} {exit.Status}");
}
