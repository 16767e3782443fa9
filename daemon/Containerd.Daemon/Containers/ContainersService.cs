using Containerd.Daemon.Filters;
using Containerd.Daemon.Hosting;
using Containerd.Daemon.Images;
using Containerd.Daemon.Metadata;
using Containerd.Daemon.Tasks;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using ContainersApi = Containerd.Api.Containers;

namespace Containerd.Daemon.Containers;

/// <summary>The Containers API: records a task's spec and settings before a task is created from them.</summary>
public sealed class ContainersService(
    ContainerStore store,
    ContainerLocks locks,
    ContainerRecords records,
    ILogger<ContainersService> logger) : ContainersApi.Containers.ContainersBase
{
    public override async Task<ContainersApi.GetContainerResponse> Get(ContainersApi.GetContainerRequest request, ServerCallContext context)
    {
        var @namespace = RequestNamespace.Of(context);
        var id = RequestNamespace.ValidId(request.Id);
        var container = await store.GetAsync(@namespace, id, context.CancellationToken).ConfigureAwait(false)
            ?? throw RpcErrors.ContainerNotFound(@namespace, id);
        return new ContainersApi.GetContainerResponse { Container = container };
    }

    public override async Task<ContainersApi.ListContainersResponse> List(ContainersApi.ListContainersRequest request, ServerCallContext context)
    {
        var @namespace = RequestNamespace.Of(context);
        Filter filter;
        try
        {
            filter = Filter.Parse(request.Filter).RequireKnownFields(ContainerFields.IsKnown, ContainerFields.Names);
        }
        catch (FilterSyntaxException e)
        {
            throw RpcErrors.InvalidArgument(e.Message);
        }
        var all = await store.ListAsync(@namespace, context.CancellationToken).ConfigureAwait(false);
        var response = new ContainersApi.ListContainersResponse();
        response.Containers.Add(all.Where(c => filter.Matches(ContainerFields.Of(c))));
        return response;
    }

    public override async Task<ContainersApi.CreateContainerResponse> Create(ContainersApi.CreateContainerRequest request, ServerCallContext context)
    {
        var @namespace = RequestNamespace.Of(context);
        var container = request.Container ?? throw RpcErrors.InvalidArgument("container is required");
        return new ContainersApi.CreateContainerResponse
        {
            Container = await records.CreateAsync(@namespace, container, context.CancellationToken).ConfigureAwait(false),
        };
    }

    public override async Task<ContainersApi.UpdateContainerResponse> Update(ContainersApi.UpdateContainerRequest request, ServerCallContext context)
    {
        var @namespace = RequestNamespace.Of(context);
        var incoming = request.Container ?? throw RpcErrors.InvalidArgument("container is required");
        var id = RequestNamespace.ValidId(incoming.Id);

        using var held = await locks.AcquireAsync(@namespace, id, context.CancellationToken).ConfigureAwait(false);
        var existing = await store.GetAsync(@namespace, id, context.CancellationToken).ConfigureAwait(false)
            ?? throw RpcErrors.ContainerNotFound(@namespace, id);
        var updated = ContainerUpdate.Apply(existing, incoming, request.UpdateMask);
        SpecJson.RequireObject(updated.Spec, $"container \"{id}\"");
        updated.UpdatedAt = Timestamp.FromDateTime(DateTime.UtcNow);
        if (!await store.TryReplaceAsync(@namespace, updated, context.CancellationToken).ConfigureAwait(false))
            throw RpcErrors.ContainerNotFound(@namespace, id);
        logger.LogInformation("container updated {Namespace} {ContainerId}", @namespace, id);
        return new ContainersApi.UpdateContainerResponse { Container = updated };
    }

    public override async Task<Empty> Delete(ContainersApi.DeleteContainerRequest request, ServerCallContext context)
    {
        var @namespace = RequestNamespace.Of(context);
        var id = RequestNamespace.ValidId(request.Id);
        await records.DeleteAsync(@namespace, id, context.CancellationToken).ConfigureAwait(false);
        return new Empty();
    }
}
