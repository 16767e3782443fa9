using Containerd.Daemon.Hosting;
using Containerd.Daemon.Images;
using Containerd.Daemon.Metadata;
using Containerd.Daemon.Tasks;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Logging;
using ContainersApi = Containerd.Api.Containers;

namespace Containerd.Daemon.Containers;

/// <summary>
/// Creating and deleting container records with what belongs to them (an
/// image's snapshot), for the Containers API and the CRI adapter alike.
/// </summary>
public sealed class ContainerRecords(
    ContainerStore store,
    ContainerLocks locks,
    TaskRegistry tasks,
    ContainerSnapshots snapshots,
    ImageGc gc,
    ILogger<ContainerRecords> logger)
{
    /// <summary>Records a new container (and prepares its snapshot when it asks for one); AlreadyExists for a known id.</summary>
    public async Task<ContainersApi.Container> CreateAsync(string @namespace, ContainersApi.Container container, CancellationToken cancellationToken)
    {
        var id = RequestNamespace.ValidId(container.Id);
        SpecJson.RequireObject(container.Spec, $"container \"{id}\"");

        var record = container.Clone();
        var now = Timestamp.FromDateTime(DateTime.UtcNow);
        record.CreatedAt = now;
        record.UpdatedAt = now;
        // A container from an image gets its snapshot before its record, and loses it if the record fails.
        var inserted = ContainerSnapshots.Wants(record)
            ? await snapshots.PrepareAsync(@namespace, record,
                () => store.TryInsertAsync(@namespace, record, cancellationToken), cancellationToken).ConfigureAwait(false)
            : await store.TryInsertAsync(@namespace, record, cancellationToken).ConfigureAwait(false);
        if (!inserted)
            throw RpcErrors.AlreadyExists($"container \"{id}\" already exists in namespace \"{@namespace}\"");
        logger.LogInformation("container created {Namespace} {ContainerId}", @namespace, id);
        return record;
    }

    /// <summary>Deletes a container without a task, and its snapshot; NotFound for an unknown id.</summary>
    public async Task DeleteAsync(string @namespace, string id, CancellationToken cancellationToken)
    {
        // Under the container's lock, so a task Create cannot slip in between check and delete.
        using var held = await locks.AcquireAsync(@namespace, id, cancellationToken).ConfigureAwait(false);
        if (tasks.Contains(@namespace, id))
            throw RpcErrors.FailedPrecondition(
                $"container \"{id}\" in namespace \"{@namespace}\" has a task; delete the task first");
        var existing = await store.GetAsync(@namespace, id, cancellationToken).ConfigureAwait(false);
        if (existing is null || !await store.DeleteAsync(@namespace, id, cancellationToken).ConfigureAwait(false))
            throw RpcErrors.ContainerNotFound(@namespace, id);
        // The record is gone, so its snapshot has no owner: remove it now (start-up GC catches a crash in between).
        if (ContainerSnapshots.Wants(existing))
        {
            await snapshots.RemoveAsync(@namespace, id, CancellationToken.None).ConfigureAwait(false);
            gc.CollectSoon();
        }
        logger.LogInformation("container deleted {Namespace} {ContainerId}", @namespace, id);
    }
}
