using Containerd.Api.CriStore;
using Containerd.Daemon.Containers;
using Containerd.Daemon.Cri.Images;
using Containerd.Daemon.Cri.Network;
using Containerd.Daemon.Cri.Common;
using Containerd.Daemon.Cri.Specs;
using Containerd.Daemon.Cri.Store;
using Containerd.Daemon.Hosting;
using Containerd.Daemon.Images;
using Containerd.Shared.Oci;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Runtime.V1;
using ContainersApi = Containerd.Api.Containers;
using Types = Containerd.Api.Types;

namespace Containerd.Daemon.Cri.Sandboxes;

/// <summary>
/// Pod sandboxes: a sandbox is a containerd container (namespace k8s.io) running
/// the configured sandbox image, holding the pod's namespaces, plus its network
/// namespace (set up through CNI), its files (hostname, hosts, resolv.conf, shm)
/// and a CRI record. Every step a RunPodSandbox took is undone when a later one
/// fails, so a failed call leaves nothing behind.
/// </summary>
public sealed class SandboxManager(
    CriStore store,
    CriLocks locks,
    CriTasks tasks,
    CriImages images,
    CriUsers users,
    ContainerRecords records,
    SandboxFileLayout files,
    CniNetwork network,
    DaemonOptions options,
    ILogger<SandboxManager> logger)
{
    /// <summary>How long a stopping sandbox's task has to go after SIGKILL.</summary>
    private static readonly TimeSpan KillWait = TimeSpan.FromSeconds(10);

    /// <summary>Set by the container manager (they need each other: a sandbox stops and removes its containers).</summary>
    public ISandboxContainers? Containers { get; set; }

    public async Task<RunPodSandboxResponse> RunAsync(RunPodSandboxRequest request, CancellationToken cancellationToken)
    {
        var config = request.Config ?? throw RpcErrors.InvalidArgument("RunPodSandbox: config is required");
        var metadata = config.Metadata ?? throw RpcErrors.InvalidArgument("RunPodSandbox: config.metadata is required");
        if (metadata.Name.Length == 0 || metadata.Namespace.Length == 0)
            throw RpcErrors.InvalidArgument("RunPodSandbox: config.metadata needs a name and a namespace");
        var runtime = RuntimeOf(request.RuntimeHandler);
        if (options.Cri.SandboxImage.Length == 0)
            throw RpcErrors.FailedPrecondition(
                "RunPodSandbox: no sandbox image is configured: set sandbox_image in the [cri] table of the daemon's configuration (a pause-like image)");

        var name = NameOf(metadata);
        var id = CriNames.NewId();
        using var held = await locks.SandboxAsync(id, cancellationToken).ConfigureAwait(false);
        if (store.Sandboxes.List().FirstOrDefault(s => NameOf(s.Config.Metadata) == name) is { } existing)
            throw RpcErrors.AlreadyExists($"pod sandbox name \"{name}\" is reserved for sandbox {existing.Id}");

        var undo = new Stack<(string What, Func<Task> Action)>();
        try
        {
            var image = await images.EnsureAsync(options.Cri.SandboxImage, cancellationToken).ConfigureAwait(false);
            var imageConfig = ImageConfig.Parse(image.Resolved.ConfigJson);
            var hostNetwork = SandboxNamespaces.HostNetwork(config);
            var hostname = config.Hostname.Length > 0 ? config.Hostname : hostNetwork ? Environment.MachineName : metadata.Name;

            files.Create(id, config, hostname);
            undo.Push(("sandbox files", () => { files.Remove(id); return Task.CompletedTask; }));

            string? netns = null;
            PodNetwork? pod = null;
            if (!hostNetwork)
            {
                netns = NetworkNamespace.Create(options.Cri.NetnsDir);
                var netnsPath = netns;
                undo.Push(("network namespace", () => { NetworkNamespace.Remove(netnsPath); return Task.CompletedTask; }));
                var networkRequest = NetworkRequest(id, netns, config);
                pod = await network.SetUpAsync(networkRequest, cancellationToken).ConfigureAwait(false);
                undo.Push(("pod network", () => network.TearDownAsync(networkRequest, CancellationToken.None)));
            }

            var security = config.Linux?.SecurityContext;
            var requestedUser = SpecUser.Requested(null, security?.RunAsUser, security?.RunAsGroup, imageConfig.User);
            var user = await users.ResolveAsync(requestedUser, image.Resolved, options.Cri.SandboxImage, cancellationToken).ConfigureAwait(false);
            var spec = SandboxSpec.Build(new SandboxSpecInput(
                id, config, imageConfig,
                new Specs.SandboxFiles(files.HostnameFile(id), files.HostsFile(id), files.ResolvConf(id),
                    SandboxNamespaces.HostIpc(config) ? null : files.Shm(id)),
                netns, user)
            {
                ReadSeccompProfile = File.ReadAllBytes,
                OomScoreAdjFloor = OomScoreFloor.ForThisProcess(),
            });

            var container = new ContainersApi.Container
            {
                Id = id,
                Image = image.Names.FirstOrDefault(n => !n.Contains('@', StringComparison.Ordinal)) ?? image.Names[0],
                Runtime = runtime,
                Spec = SpecAny.Pack(SpecAny.RuntimeSpecType, spec),
            };
            container.Labels.Add(config.Labels);
            container.Labels[CriNames.KindLabel] = CriNames.KindSandbox;
            container.Labels[ContainerSnapshots.SnapshotterLabel] = ContainerSnapshots.Overlay;
            await records.CreateAsync(CriNames.Namespace, container, cancellationToken).ConfigureAwait(false);
            undo.Push(("sandbox container", () => records.DeleteAsync(CriNames.Namespace, id, CancellationToken.None)));

            var pid = await tasks.CreateAsync(id, "", "", false, cancellationToken).ConfigureAwait(false);
            undo.Push(("sandbox task", async () =>
            {
                await tasks.KillAsync(id, CriTasks.SigKill, all: true, CancellationToken.None).ConfigureAwait(false);
                await tasks.WaitStoppedAsync(id, KillWait, CancellationToken.None).ConfigureAwait(false);
                await tasks.DeleteAsync(id, CancellationToken.None).ConfigureAwait(false);
            }));
            await tasks.StartAsync(id, cancellationToken).ConfigureAwait(false);

            var record = new SandboxRecord
            {
                Id = id,
                Config = config,
                CreatedAt = CriNames.Now(),
                NetnsPath = netns ?? "",
                Ip = pod?.PrimaryIp ?? "",
                Image = options.Cri.SandboxImage,
                RuntimeHandler = request.RuntimeHandler,
                CniResult = pod?.ResultJson ?? "",
                FilesDir = files.Directory(id),
                Pid = pid,
            };
            if (pod is not null)
                record.AdditionalIps.Add(pod.AdditionalIps);
            await store.Sandboxes.TryInsertAsync(record, cancellationToken).ConfigureAwait(false);
            logger.LogInformation("pod sandbox running {SandboxId} {Pod} {Ip} {Pid}", id, name, record.Ip, pid);
            return new RunPodSandboxResponse { PodSandboxId = id };
        }
        catch (Exception e)
        {
            logger.LogWarning("RunPodSandbox {Pod} failed: {Error}", name, e.Message);
            await UndoAsync(id, undo).ConfigureAwait(false);
            throw Translate(e, $"RunPodSandbox {name}");
        }
    }

    /// <summary>Stops the sandbox's containers (killed at once, as containerd), its task, and tears its network down. Idempotent.</summary>
    public async Task<StopPodSandboxResponse> StopAsync(string requestedId, CancellationToken cancellationToken)
    {
        var id = Resolve(requestedId) ?? throw SandboxNotFound(requestedId);
        using var held = await locks.SandboxAsync(id, cancellationToken).ConfigureAwait(false);
        await StopLockedAsync(id, cancellationToken).ConfigureAwait(false);
        return new StopPodSandboxResponse();
    }

    /// <summary>Removes a sandbox, stopping it first, with its containers. An unknown sandbox is fine.</summary>
    public async Task<RemovePodSandboxResponse> RemoveAsync(string requestedId, CancellationToken cancellationToken)
    {
        if (Resolve(requestedId) is not { } id)
            return new RemovePodSandboxResponse();
        using var held = await locks.SandboxAsync(id, cancellationToken).ConfigureAwait(false);
        if (store.Sandboxes.Get(id) is null)
            return new RemovePodSandboxResponse();
        await StopLockedAsync(id, cancellationToken).ConfigureAwait(false);
        if (Containers is { } containers)
            await containers.RemoveAllInSandboxAsync(id, cancellationToken).ConfigureAwait(false);
        try
        {
            await records.DeleteAsync(CriNames.Namespace, id, cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
        }
        files.Remove(id);
        await store.Sandboxes.DeleteAsync(id, cancellationToken).ConfigureAwait(false);
        logger.LogInformation("pod sandbox removed {SandboxId}", id);
        return new RemovePodSandboxResponse();
    }

    public async Task<PodSandboxStatusResponse> StatusAsync(string requestedId, bool verbose, CancellationToken cancellationToken)
    {
        var id = Resolve(requestedId) ?? throw SandboxNotFound(requestedId);
        var record = store.Sandboxes.Get(id) ?? throw SandboxNotFound(requestedId);
        var state = await StateAsync(record, cancellationToken).ConfigureAwait(false);
        var status = new PodSandboxStatus
        {
            Id = id,
            Metadata = record.Config.Metadata,
            State = state,
            CreatedAt = record.CreatedAt,
            Network = new PodSandboxNetworkStatus { Ip = record.Ip },
            Linux = new LinuxPodSandboxStatus
            {
                Namespaces = new Namespace { Options = record.Config.Linux?.SecurityContext?.NamespaceOptions?.Clone() ?? new NamespaceOption() },
            },
            RuntimeHandler = record.RuntimeHandler,
        };
        status.Network.AdditionalIps.Add(record.AdditionalIps.Select(ip => new PodIP { Ip = ip }));
        status.Labels.Add(record.Config.Labels);
        status.Annotations.Add(record.Config.Annotations);
        var response = new PodSandboxStatusResponse { Status = status, Timestamp = CriNames.Now() };
        if (verbose)
            response.Info["info"] = VerboseInfo(record, state);
        return response;
    }

    public ListPodSandboxResponse List(PodSandboxFilter? filter)
    {
        var response = new ListPodSandboxResponse();
        // An id filter names one sandbox, by its id or a unique prefix (ambiguous: InvalidArgument).
        string? only = null;
        if (filter is { Id.Length: > 0 } && (only = Resolve(filter.Id)) is null)
            return response;
        foreach (var record in store.Sandboxes.List())
        {
            if (filter is not null)
            {
                if (only is not null && record.Id != only)
                    continue;
                if (!CriFilters.LabelsMatch(filter.LabelSelector, record.Config.Labels))
                    continue;
            }
            var state = StateFromTask(record);
            if (filter?.State is { } wanted && wanted.State != state)
                continue;
            var item = new PodSandbox
            {
                Id = record.Id, Metadata = record.Config.Metadata, State = state, CreatedAt = record.CreatedAt,
                RuntimeHandler = record.RuntimeHandler,
            };
            item.Labels.Add(record.Config.Labels);
            item.Annotations.Add(record.Config.Annotations);
            response.Items.Add(item);
        }
        return response;
    }

    /// <summary>Every sandbox record.</summary>
    public List<SandboxRecord> All() => store.Sandboxes.List();

    /// <summary>The sandbox record, for a container being created in it.</summary>
    public SandboxRecord? Get(string id) => store.Sandboxes.Get(id);

    /// <summary>The full id a (possibly shortened) id names, or null.</summary>
    public string? Resolve(string requestedId) => CriIdIndex.Resolve(requestedId, store.Sandboxes.List().Select(s => s.Id), "pod sandbox");

    /// <summary>READY while the sandbox's task runs.</summary>
    public async Task<PodSandboxState> StateAsync(SandboxRecord record, CancellationToken cancellationToken)
    {
        if (record.Stopped || record.Pid == 0)
            return PodSandboxState.SandboxNotready;
        var task = await tasks.DescribeAsync(record.Id, cancellationToken).ConfigureAwait(false);
        return task?.Status == Types.Status.Running ? PodSandboxState.SandboxReady : PodSandboxState.SandboxNotready;
    }

    private PodSandboxState StateFromTask(SandboxRecord record) =>
        record.Stopped || record.Pid == 0 || !tasks.IsRunning(record.Id) ? PodSandboxState.SandboxNotready : PodSandboxState.SandboxReady;

    private async Task StopLockedAsync(string id, CancellationToken cancellationToken)
    {
        var record = store.Sandboxes.Get(id) ?? throw SandboxNotFound(id);
        if (Containers is { } containers)
            await containers.StopAllInSandboxAsync(id, cancellationToken).ConfigureAwait(false);

        await tasks.KillAsync(id, CriTasks.SigKill, all: true, cancellationToken).ConfigureAwait(false);
        await tasks.WaitStoppedAsync(id, KillWait, cancellationToken).ConfigureAwait(false);
        await tasks.DeleteAsync(id, cancellationToken).ConfigureAwait(false);
        files.UnmountShm(id);
        if (record.NetnsPath.Length > 0)
        {
            try
            {
                await network.TearDownAsync(NetworkRequest(id, record.NetnsPath, record.Config), cancellationToken).ConfigureAwait(false);
            }
            catch (CniException e)
            {
                throw RpcErrors.Internal($"StopPodSandbox {id}: cannot tear down the pod network: {e.Message}");
            }
            NetworkNamespace.Remove(record.NetnsPath);
        }
        await store.Sandboxes.UpdateAsync(id, r =>
        {
            r.Stopped = true;
            r.Pid = 0;
            r.NetnsPath = "";
        }, cancellationToken).ConfigureAwait(false);
        if (!record.Stopped)
            logger.LogInformation("pod sandbox stopped {SandboxId}", id);
    }

    private async Task UndoAsync(string id, Stack<(string What, Func<Task> Action)> undo)
    {
        while (undo.TryPop(out var step))
        {
            try
            {
                await step.Action().ConfigureAwait(false);
            }
            catch (Exception e)
            {
                logger.LogWarning("RunPodSandbox {SandboxId}: undoing the {What} failed: {Error}", id, step.What, e.Message);
            }
        }
    }

    private static PodNetworkRequest NetworkRequest(string id, string netns, PodSandboxConfig config) => new(
        id, netns, config.Metadata?.Name ?? "", config.Metadata?.Namespace ?? "", config.Metadata?.Uid ?? "",
        [.. config.PortMappings.Select(p => new Network.PortMapping(p.ContainerPort, p.HostPort, p.Protocol switch
        {
            Protocol.Udp => PortProtocol.Udp,
            Protocol.Sctp => PortProtocol.Sctp,
            _ => PortProtocol.Tcp,
        }, p.HostIp))]);

    /// <summary>The runtime a handler names: the default runc for "" and "runc" (containerd's default handler).</summary>
    private static string RuntimeOf(string handler) => handler switch
    {
        "" or CriNames.DefaultRuntimeHandler => "io.containerd.runc.v2",
        "crun" => "crun",
        _ => throw RpcErrors.InvalidArgument($"RunPodSandbox: no runtime for handler \"{handler}\" is configured (known: runc, crun)"),
    };

    /// <summary>containerd's sandbox name: what makes a sandbox unique in the kubelet's eyes.</summary>
    public static string NameOf(PodSandboxMetadata? metadata) =>
        metadata is null ? "" : $"{metadata.Name}_{metadata.Namespace}_{metadata.Uid}_{metadata.Attempt}";

    public static RpcException SandboxNotFound(string id) => RpcErrors.NotFound($"pod sandbox \"{id}\" not found");

    /// <summary>A failure as the CRI client should see it: gRPC statuses pass, the rest name what failed.</summary>
    public static RpcException Translate(Exception e, string what) => e switch
    {
        RpcException rpc => rpc,
        SpecException spec => spec.ToRpcException(),
        CniException cni => RpcErrors.Internal($"{what}: pod network: {cni.Message}"),
        _ => RpcErrors.Internal($"{what}: {e.Message}"),
    };

    private static string VerboseInfo(SandboxRecord record, PodSandboxState state) => CriInfo.Json(writer =>
    {
        writer.WriteStartObject();
        writer.WriteNumber("pid", record.Pid);
        writer.WriteString("processStatus", state == PodSandboxState.SandboxReady ? "running" : "stopped");
        writer.WriteString("netNamespacePath", record.NetnsPath);
        writer.WriteString("image", record.Image);
        writer.WriteString("runtimeHandler", record.RuntimeHandler);
        writer.WriteString("cniResult", record.CniResult);
        writer.WriteEndObject();
    });
}
