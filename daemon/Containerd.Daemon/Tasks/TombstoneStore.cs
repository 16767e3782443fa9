using Containerd.Api.Shim;
using Containerd.Daemon.Shims;
using Containerd.Shared.Bundles;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Containerd.Daemon.Tasks;

/// <summary>
/// Where stopped tasks live between their shim's death and Delete: the
/// tombstone in their bundle (<see cref="TombstoneFile"/>). It makes the
/// <see cref="StoppedTask"/> whose later changes (a DeleteProcess) are written
/// back, and removes tombstone and bundle when the task is deleted.
/// </summary>
public sealed class TombstoneStore(StateLayout layout, ShimManager shims, ILogger<TombstoneStore> logger)
{
    private const UnixFileMode PrivateDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>
    /// The stopped task, its tombstone written to the bundle first (before its
    /// EXITs are published), and the shim's socket removed: the bundle is all
    /// that is left until Delete.
    /// </summary>
    public StoppedTask Entomb(string @namespace, string id, uint initPid, Stdio stdio, TaskTombstone tombstone)
    {
        var buried = new BuriedTask(initPid, stdio, tombstone);
        Write(layout.Bundle(@namespace, id), buried);
        TryDelete(layout.ShimSocket(@namespace, id));
        return Restore(@namespace, id, buried);
    }

    /// <summary>The stopped task a tombstone on disk describes (an earlier daemon buried it).</summary>
    public StoppedTask Restore(string @namespace, string id, BuriedTask buried)
    {
        var bundle = layout.Bundle(@namespace, id);
        return new StoppedTask(@namespace, id, buried.InitPid, buried.Stdio, buried.Tombstone,
            changed => Write(bundle, buried with { Tombstone = changed }));
    }

    /// <summary>
    /// Before a stopped task leaves the registry: first the tombstone, so that
    /// a bundle that cannot be removed does not bring the task back after a
    /// restart, then the bundle itself.
    /// </summary>
    public void Remove(string @namespace, string id)
    {
        TryDelete(layout.Bundle(@namespace, id).TombstoneFile);
        try
        {
            shims.RemoveBundle(@namespace, id);
        }
        catch (Exception e) when (e is RpcException or IOException or UnauthorizedAccessException)
        {
            logger.LogError("cannot remove the bundle of {Namespace} {ContainerId}: {Error}", @namespace, id,
                e is RpcException rpc ? rpc.Status.Detail : e.Message);
        }
    }

    /// <summary>A tombstone that cannot be written costs the task only its survival of a restart; it still answers now.</summary>
    private void Write(TaskBundle bundle, BuriedTask buried)
    {
        try
        {
            Directory.CreateDirectory(bundle.Directory, PrivateDirectory);
            TombstoneFile.Write(bundle, buried);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogError("cannot write the tombstone of {Bundle}: {Error}", bundle.Directory, e.Message);
        }
    }

    private void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning("cannot remove {Path}: {Error}", path, e.Message);
        }
    }
}
