using Containerd.Shim.Reaper;
using Microsoft.Extensions.Logging;

namespace Containerd.Shim.Process;

/// <summary>
/// The order of exits when the init dies (containerd's shim does the same):
/// every exec'd process still alive is SIGKILLed (in the container's own pid
/// namespace the kernel already killed them; sharing the host's they would
/// live on), and their exits are recorded and published BEFORE the init's.
/// A client that deletes the task on the init's EXIT then never races an
/// exec's EXIT, and finds every exec stopped with its status.
/// </summary>
internal static class InitExitOrder
{
    /// <summary>How long the init's exit waits for its execs' exits (a SIGKILLed process is reaped at once).</summary>
    public static readonly TimeSpan ExecWait = ShimProcess.OutputWait + ShimProcess.OutputWait;

    /// <summary>
    /// Kills the live <paramref name="execs"/>, waits (bounded by
    /// <paramref name="wait"/>) until each one's exit is recorded, then records
    /// the init's <paramref name="exit"/>.
    /// </summary>
    public static async Task RecordAsync(
        InitProcess init, ProcessExit exit, IReadOnlyCollection<ExecProcess> execs, TimeSpan wait, ILogger logger)
    {
        var pending = new List<Task>(execs.Count);
        foreach (var exec in execs)
        {
            if (exec.CurrentState.IsFinished)
                continue;
            // Not yet reaped: the pid is still the exec's own (at worst a zombie), never a reused one.
            if (!exec.Reaped.IsCompleted)
                exec.Runtime.Signal(exec.Pid, ExecProcess.SigKill);
            pending.Add(exec.Finished);
        }
        if (pending.Count > 0)
        {
            try
            {
                await Task.WhenAll(pending).WaitAsync(wait).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                logger.LogWarning("exec'd processes not reaped {Wait} after the init {InitPid} exited", wait, init.Pid);
            }
        }
        init.RecordExit(exit);
    }
}
