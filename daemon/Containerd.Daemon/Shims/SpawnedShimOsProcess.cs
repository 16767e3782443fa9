using System.Diagnostics;

namespace Containerd.Daemon.Shims;

/// <summary>
/// A shim this daemon started. Holding the Process object lets .NET reap it
/// when it exits, so a deleted task leaves no zombie behind.
/// </summary>
public sealed class SpawnedShimOsProcess(Process process) : IShimOsProcess
{
    public int Pid { get; } = process.Id;

    public bool HasExited
    {
        get
        {
            try
            {
                return process.HasExited;
            }
            catch (InvalidOperationException)
            {
                return true;
            }
        }
    }

    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public void Kill()
    {
        try
        {
            process.Kill(entireProcessTree: false);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }
}
