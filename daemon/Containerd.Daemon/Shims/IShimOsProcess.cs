namespace Containerd.Daemon.Shims;

/// <summary>
/// The shim's operating-system process (not the container's processes, which
/// the shim itself calls processes): spawned by this daemon (a child we reap)
/// or adopted from a previous daemon after a restart (not our child).
/// </summary>
public interface IShimOsProcess
{
    int Pid { get; }

    bool HasExited { get; }

    /// <summary>Waits for the exit; false on timeout.</summary>
    Task<bool> WaitForExitAsync(TimeSpan timeout);

    /// <summary>SIGKILL, if the process is still the shim.</summary>
    void Kill();
}
