using Containerd.Shared.Bundles;
using Containerd.Shared.Native;
using Containerd.Shim.Mounts;
using Containerd.Shim.Process;
using Containerd.Shim.Runc;
using Microsoft.Extensions.Logging;

namespace Containerd.Shim.Teardown;

/// <summary>
/// How a container is removed from the machine: <c>runc delete --force</c>
/// (which also kills what is left in its cgroup), then every mount at or
/// below BUNDLE/rootfs is detached, deepest first. A live shim's Delete and
/// the <c>delete</c> sub-command that cleans up after a dead shim both use
/// this, so the rule exists once. The bundle directory itself is the daemon's.
/// </summary>
internal sealed class ContainerTeardown(IContainerRuntime runtime, TaskBundle bundle, ILogger logger)
{
    /// <param name="strict">
    /// Whether a runc failure (other than "no such container", the normal case
    /// when runc never created it or it is already deleted) stops the teardown
    /// and is thrown, leaving the mounts for a retry. Otherwise it is logged and
    /// the mounts still go.
    /// </param>
    /// <returns>The mounts still there afterwards (with the kernel's reason); empty when all went.</returns>
    /// <exception cref="RuncException">runc failed and <paramref name="strict"/> is set.</exception>
    public async Task<List<string>> RemoveAsync(bool strict)
    {
        try
        {
            await runtime.ForceDeleteAsync().ConfigureAwait(false);
        }
        catch (RuncException e) when (RuncErrors.Classify(e) == RuncErrorKind.ContainerMissing)
        {
            logger.LogDebug("runc delete --force: the container is already gone ({Error})", e.Message);
        }
        catch (RuncException e) when (!strict)
        {
            logger.LogWarning("runc delete --force failed: {Error}", e.Message);
        }

        var remaining = MountTable.DetachAllUnder(bundle.RootfsDirectory);
        if (remaining.Count > 0)
            logger.LogWarning("mounts left under {Rootfs}: {Mounts}", bundle.RootfsDirectory, string.Join(", ", remaining));
        return remaining;
    }
}
