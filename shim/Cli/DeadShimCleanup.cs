using Containerd.Shared.Bundles;
using Containerd.Shim.Process;
using Containerd.Shim.Runc;
using Containerd.Shim.Teardown;
using Microsoft.Extensions.Logging;

namespace Containerd.Shim.Cli;

/// <summary>
/// Removes what a dead shim's task left: runc's container (killing what still
/// runs) and the rootfs mounts, through the same <see cref="ContainerTeardown"/>
/// a live shim's Delete uses, then the init's pid file. The bundle directory
/// stays: it is the daemon's.
/// </summary>
internal sealed class DeadShimCleanup(IContainerRuntime container, ContainerTeardown teardown, TaskBundle bundle, ILogger<DeadShimCleanup> logger)
{
    /// <exception cref="RuncException">runc delete failed; the message is runc's.</exception>
    /// <exception cref="IOException">Mounts could not be detached, or init.pid removed.</exception>
    public async Task<DeleteOutcome> RunAsync()
    {
        var status = await StatusAsync().ConfigureAwait(false);
        // Read before the teardown: the pid is what the daemon reports as exited.
        var initPid = bundle.ReadInitPid();

        var remaining = await teardown.RemoveAsync(strict: true).ConfigureAwait(false);
        if (remaining.Count > 0)
            throw new IOException($"cannot unmount {string.Join(", ", remaining)}");
        File.Delete(bundle.InitPidFile);

        var outcome = new DeleteOutcome(status, initPid);
        logger.LogInformation("cleaned up after a dead shim: runc status {RuncStatus}, init {InitPid}, exit status {ExitStatus}",
            status ?? "none", initPid, outcome.ExitStatus);
        return outcome;
    }

    /// <summary>
    /// runc's status word, or null when runc knows no such container. Any other
    /// failure to ask is not fatal: the forced delete that follows still runs
    /// and reports a runc that cannot work at all.
    /// </summary>
    private async Task<string?> StatusAsync()
    {
        try
        {
            return await container.StatusAsync().ConfigureAwait(false);
        }
        catch (RuncException e) when (RuncErrors.Classify(e) == RuncErrorKind.ContainerMissing)
        {
            return null;
        }
        catch (RuncException e)
        {
            logger.LogWarning("runc state failed: {Error}", e.Message);
            return null;
        }
        catch (System.Text.Json.JsonException e)
        {
            logger.LogWarning("runc state printed no JSON: {Error}", e.Message);
            return null;
        }
    }
}
