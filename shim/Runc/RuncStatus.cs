namespace Containerd.Shim.Runc;

/// <summary>The status words <c>runc state</c> reports.</summary>
internal static class RuncStatus
{
    /// <summary>
    /// Whether a container in this status still had a process that
    /// <c>runc delete --force</c> kills with SIGKILL ("pausing" is runc's word
    /// for a freeze in progress).
    /// </summary>
    public static bool HasLiveProcess(string? status) => status is "created" or "running" or "paused" or "pausing";
}
