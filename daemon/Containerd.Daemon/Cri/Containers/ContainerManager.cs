using System.Text.Json.Nodes;
using Containerd.Api.CriStore;
using Containerd.Daemon.Containers;
using Containerd.Daemon.Cri.Common;
using Containerd.Daemon.Cri.Images;
using Containerd.Daemon.Cri.Sandboxes;
using Containerd.Daemon.Cri.Specs;
using Containerd.Daemon.Cri.Store;
using Containerd.Daemon.Hosting;
using Containerd.Daemon.Images;
using Containerd.Daemon.Metadata;
using Containerd.Shared.Oci;
using Containerd.Shared.Tasks;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Runtime.V1;
using ContainersApi = Containerd.Api.Containers;

namespace Containerd.Daemon.Cri.Containers;

/// <summary>
/// CRI containers: each is a containerd container (namespace k8s.io) made from
/// an image, joined to its sandbox's namespaces, whose task is created at
/// StartContainer with its output going, through the shim, to the CRI log file.
/// When its init exits, the exit (code, time, reason) goes into the CRI record
/// and the task is deleted, as containerd's CRI does: the record answers
/// ContainerStatus from then on, across daemon restarts.
/// </summary>
public sealed class ContainerManager : ISandboxContainers
{
    /// <summary>containerd's exit code and reason for a container whose start failed.</summary>
    public const int StartErrorExitCode = 128;
    public const string StartErrorReason = "StartError";

    private static readonly TimeSpan KillWait = TimeSpan.FromSeconds(10);

    private readonly CriStore _store;
    private readonly CriLocks _locks;
    private readonly CriTasks _tasks;
    private readonly CriImages _images;
    private readonly CriUsers _users;
    private readonly ContainerRecords _records;
    private readonly ContainerStore _containers;
    private readonly SandboxManager _sandboxes;
    private readonly SandboxFileLayout _files;
    private readonly ILogger<ContainerManager> _logger;

    public ContainerManager(
        CriStore store, CriLocks locks, CriTasks tasks, CriImages images, CriUsers users, ContainerRecords records,
        ContainerStore containers, SandboxManager sandboxes, SandboxFileLayout files, ILogger<ContainerManager> logger)
    {
        _store = store;
        _locks = locks;
        _tasks = tasks;
        _images = images;
        _users = users;
        _records = records;
        _containers = containers;
        _sandboxes = sandboxes;
        _files = files;
        _logger = logger;
        sandboxes.Containers = this;
    }

    public async Task<CreateContainerResponse> CreateAsync(CreateContainerRequest request, CancellationToken cancellationToken)
    {
        var config = request.Config ?? throw RpcErrors.InvalidArgument("CreateContainer: config is required");
        var metadata = config.Metadata ?? throw RpcErrors.InvalidArgument("CreateContainer: config.metadata is required");
        if (metadata.Name.Length == 0)
            throw RpcErrors.InvalidArgument("CreateContainer: config.metadata.name is required");
        var sandboxId = _sandboxes.Resolve(request.PodSandboxId) ?? throw SandboxManager.SandboxNotFound(request.PodSandboxId);
        var sandbox = _sandboxes.Get(sandboxId) ?? throw SandboxManager.SandboxNotFound(request.PodSandboxId);
        if (await _sandboxes.StateAsync(sandbox, cancellationToken).ConfigureAwait(false) != PodSandboxState.SandboxReady)
            throw RpcErrors.FailedPrecondition($"CreateContainer: pod sandbox {sandboxId} is not ready");
        var sandboxConfig = request.SandboxConfig ?? sandbox.Config;
        var imageReference = config.Image?.Image ?? "";
        if (imageReference.Length == 0)
            throw RpcErrors.InvalidArgument("CreateContainer: config.image is required");

        var name = $"{metadata.Name}_{SandboxManager.NameOf(sandbox.Config.Metadata)}";
        var id = CriNames.NewId();
        using var held = await _locks.ContainerAsync(id, cancellationToken).ConfigureAwait(false);
        if (_store.Containers.List().FirstOrDefault(c => c.SandboxId == sandboxId && NameOf(c) == name) is { } existing)
            throw RpcErrors.AlreadyExists($"container name \"{name}\" is reserved for container {existing.Id}");

        var image = await _images.FindAsync(imageReference, cancellationToken).ConfigureAwait(false)
            ?? throw RpcErrors.NotFound($"CreateContainer: image \"{imageReference}\" not found (pull it first)");
        var recordCreated = false;
        try
        {
            var imageConfig = ImageConfig.Parse(image.Resolved.ConfigJson);
            var security = config.Linux?.SecurityContext;
            var requested = SpecUser.Requested(security?.RunAsUsername, security?.RunAsUser, security?.RunAsGroup, imageConfig.User);
            var user = await _users.ResolveAsync(requested, image.Resolved, imageReference, cancellationToken).ConfigureAwait(false);
            var specConfig = WithHostPaths(config);
            var spec = ContainerSpec.Build(new ContainerSpecInput(
                id, sandboxId, specConfig, sandboxConfig, imageConfig, imageReference, sandbox.Pid,
                new Specs.SandboxFiles(_files.HostnameFile(sandboxId), _files.HostsFile(sandboxId), _files.ResolvConf(sandboxId),
                    SandboxNamespaces.HostIpc(sandbox.Config) ? null : _files.Shm(sandboxId)),
                user, HostDevices.Lookup)
            {
                TargetPid = TargetPid,
                ReadSeccompProfile = File.ReadAllBytes,
                CgroupNamespace = File.Exists("/sys/fs/cgroup/cgroup.controllers"),
                NodeHostname = Environment.MachineName,
                OomScoreAdjFloor = OomScoreFloor.ForThisProcess(),
                SwapLimitSupported = LinuxResourcesJson.SwapControllerAvailable(),
            });

            var sandboxContainer = await _containers.GetAsync(CriNames.Namespace, sandboxId, cancellationToken).ConfigureAwait(false);
            var container = new ContainersApi.Container
            {
                Id = id,
                Image = image.Names.FirstOrDefault(n => !n.Contains('@', StringComparison.Ordinal)) ?? image.Names[0],
                Runtime = sandboxContainer?.Runtime ?? "io.containerd.runc.v2",
                Spec = SpecAny.Pack(SpecAny.RuntimeSpecType, spec),
            };
            container.Labels.Add(config.Labels);
            container.Labels[CriNames.KindLabel] = CriNames.KindContainer;
            container.Labels[CriNames.SandboxIdLabel] = sandboxId;
            container.Labels[ContainerSnapshots.SnapshotterLabel] = ContainerSnapshots.Overlay;
            await _records.CreateAsync(CriNames.Namespace, container, cancellationToken).ConfigureAwait(false);
            recordCreated = true;

            var record = new ContainerRecord
            {
                Id = id,
                SandboxId = sandboxId,
                Config = config,
                CreatedAt = CriNames.Now(),
                ImageRef = imageReference,
                ImageName = container.Image,
                ImageId = image.Id,
                ImageRepoDigest = image.RepoDigests.FirstOrDefault() ?? image.Id,
                StopSignal = StopSignals.Of(config.StopSignal, imageConfig.StopSignal),
                LogPath = sandboxConfig.LogDirectory.Length > 0 && config.LogPath.Length > 0
                    ? Path.Combine(sandboxConfig.LogDirectory, config.LogPath)
                    : "",
                Resources = config.Linux?.Resources?.Clone(),
            };
            await _store.Containers.TryInsertAsync(record, cancellationToken).ConfigureAwait(false);
            _logger.LogInformation("CRI container created {ContainerId} {Name} in {SandboxId}", id, name, sandboxId);
            return new CreateContainerResponse { ContainerId = id };
        }
        catch (Exception e)
        {
            _logger.LogWarning("CreateContainer {Name} failed: {Error}", name, e.Message);
            if (recordCreated)
                await IgnoreFailureAsync(() => _records.DeleteAsync(CriNames.Namespace, id, CancellationToken.None)).ConfigureAwait(false);
            throw e is FormatException
                ? RpcErrors.InvalidArgument($"CreateContainer {name}: image \"{imageReference}\": {e.Message}")
                : SandboxManager.Translate(e, $"CreateContainer {name}");
        }
    }

    public async Task<StartContainerResponse> StartAsync(string requestedId, CancellationToken cancellationToken)
    {
        var id = Resolve(requestedId) ?? throw ContainerNotFound(requestedId);
        using var held = await _locks.ContainerAsync(id, cancellationToken).ConfigureAwait(false);
        var record = _store.Containers.Get(id) ?? throw ContainerNotFound(requestedId);
        var state = StateOf(record);
        if (state != ContainerState.ContainerCreated)
            throw RpcErrors.FailedPrecondition($"StartContainer: container {id} is in {Describe(state)} state");
        var sandbox = _sandboxes.Get(record.SandboxId);
        if (sandbox is null || await _sandboxes.StateAsync(sandbox, cancellationToken).ConfigureAwait(false) != PodSandboxState.SandboxReady)
            throw RpcErrors.FailedPrecondition($"StartContainer: pod sandbox {record.SandboxId} of container {id} is not ready");

        var taskCreated = false;
        try
        {
            var output = "";
            if (record.LogPath.Length > 0)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(record.LogPath)!);
                output = CriLogTarget.For(record.LogPath);
            }
            var pid = await _tasks.CreateAsync(id, output, output, record.Config.Tty, cancellationToken).ConfigureAwait(false);
            taskCreated = true;
            await _tasks.StartAsync(id, cancellationToken).ConfigureAwait(false);
            await _store.Containers.UpdateAsync(id, r =>
            {
                r.Pid = pid;
                r.StartedAt = CriNames.Now();
            }, cancellationToken).ConfigureAwait(false);
            _logger.LogInformation("CRI container started {ContainerId} {Pid}", id, pid);
            return new StartContainerResponse();
        }
        catch (Exception e)
        {
            _logger.LogWarning("StartContainer {ContainerId} failed: {Error}", id, e.Message);
            if (taskCreated)
            {
                await IgnoreFailureAsync(async () =>
                {
                    await _tasks.KillAsync(id, CriTasks.SigKill, all: true, CancellationToken.None).ConfigureAwait(false);
                    await _tasks.WaitStoppedAsync(id, KillWait, CancellationToken.None).ConfigureAwait(false);
                    await _tasks.DeleteAsync(id, CancellationToken.None).ConfigureAwait(false);
                }).ConfigureAwait(false);
            }
            var error = SandboxManager.Translate(e, $"StartContainer {id}");
            await _store.Containers.UpdateAsync(id, r =>
            {
                r.Pid = 0;
                r.FinishedAt = CriNames.Now();
                r.ExitCode = StartErrorExitCode;
                r.Reason = StartErrorReason;
                r.Message = error.Status.Detail;
            }, CancellationToken.None).ConfigureAwait(false);
            throw error;
        }
    }

    /// <summary>The stop signal, then SIGKILL after <paramref name="timeoutSeconds"/>; a container that is not running is fine.</summary>
    public async Task<StopContainerResponse> StopAsync(string requestedId, long timeoutSeconds, CancellationToken cancellationToken)
    {
        var id = Resolve(requestedId) ?? throw ContainerNotFound(requestedId);
        using var held = await _locks.ContainerAsync(id, cancellationToken).ConfigureAwait(false);
        await StopLockedAsync(id, TimeSpan.FromSeconds(Math.Max(0, timeoutSeconds)), cancellationToken).ConfigureAwait(false);
        return new StopContainerResponse();
    }

    /// <summary>Removes the container (killing it if it runs), its task, record and snapshot; an unknown one is fine.</summary>
    public async Task<RemoveContainerResponse> RemoveAsync(string requestedId, CancellationToken cancellationToken)
    {
        if (Resolve(requestedId) is not { } id)
            return new RemoveContainerResponse();
        using var held = await _locks.ContainerAsync(id, cancellationToken).ConfigureAwait(false);
        await RemoveLockedAsync(id, cancellationToken).ConfigureAwait(false);
        return new RemoveContainerResponse();
    }

    public async Task<ContainerStatusResponse> StatusAsync(string requestedId, bool verbose, CancellationToken cancellationToken)
    {
        var id = Resolve(requestedId) ?? throw ContainerNotFound(requestedId);
        var record = _store.Containers.Get(id) ?? throw ContainerNotFound(requestedId);
        var state = StateOf(record);
        var status = new ContainerStatus
        {
            Id = id,
            Metadata = record.Config.Metadata,
            State = state,
            CreatedAt = record.CreatedAt,
            StartedAt = record.StartedAt,
            FinishedAt = record.FinishedAt,
            ExitCode = record.ExitCode,
            Image = new ImageSpec { Image = record.ImageRef },
            ImageRef = record.ImageRepoDigest.Length > 0 ? record.ImageRepoDigest : record.ImageId,
            ImageId = record.ImageId,
            Reason = record.Reason,
            Message = record.Message,
            LogPath = record.LogPath,
        };
        status.Labels.Add(record.Config.Labels);
        status.Annotations.Add(record.Config.Annotations);
        status.Mounts.Add(record.Config.Mounts);
        if (record.Resources is not null)
            status.Resources = new ContainerResources { Linux = record.Resources.Clone() };
        var response = new ContainerStatusResponse { Status = status };
        if (verbose)
            response.Info["info"] = VerboseInfo(record);
        return response;
    }

    public ListContainersResponse List(Runtime.V1.ContainerFilter? filter)
    {
        var response = new ListContainersResponse();
        foreach (var record in _store.Containers.List().OrderBy(r => r.CreatedAt))
        {
            var state = StateOf(record);
            if (filter is not null)
            {
                if (filter.Id.Length > 0 && !record.Id.StartsWith(filter.Id, StringComparison.Ordinal))
                    continue;
                if (filter.PodSandboxId.Length > 0 && !record.SandboxId.StartsWith(filter.PodSandboxId, StringComparison.Ordinal))
                    continue;
                if (filter.State is { } wanted && wanted.State != state)
                    continue;
                if (!CriFilters.LabelsMatch(filter.LabelSelector, record.Config.Labels))
                    continue;
            }
            var item = new Container
            {
                Id = record.Id,
                PodSandboxId = record.SandboxId,
                Metadata = record.Config.Metadata,
                Image = new ImageSpec { Image = record.ImageRef },
                ImageRef = record.ImageId,
                ImageId = record.ImageId,
                State = state,
                CreatedAt = record.CreatedAt,
            };
            item.Labels.Add(record.Config.Labels);
            item.Annotations.Add(record.Config.Annotations);
            response.Containers.Add(item);
        }
        return response;
    }

    public async Task<UpdateContainerResourcesResponse> UpdateResourcesAsync(UpdateContainerResourcesRequest request, CancellationToken cancellationToken)
    {
        var id = Resolve(request.ContainerId) ?? throw ContainerNotFound(request.ContainerId);
        if (request.Linux is null)
            return new UpdateContainerResourcesResponse();
        using var held = await _locks.ContainerAsync(id, cancellationToken).ConfigureAwait(false);
        var record = _store.Containers.Get(id) ?? throw ContainerNotFound(request.ContainerId);
        if (StateOf(record) == ContainerState.ContainerExited)
            throw RpcErrors.FailedPrecondition($"UpdateContainerResources: container {id} is not running");
        var container = await _containers.GetAsync(CriNames.Namespace, id, cancellationToken).ConfigureAwait(false)
            ?? throw ContainerNotFound(request.ContainerId);
        var spec = SpecAny.Unpack(container.Spec) as JsonObject
            ?? throw RpcErrors.FailedPrecondition($"UpdateContainerResources: container {id} has no spec");
        var linux = spec["linux"] as JsonObject ?? new JsonObject();
        spec["linux"] = linux;
        JsonObject resources;
        try
        {
            resources = LinuxResourcesJson.Apply(linux["resources"] as JsonObject, request.Linux,
                LinuxResourcesJson.SwapControllerAvailable(), LinuxResourcesJson.HugetlbControllerAvailable());
        }
        catch (ArgumentException e)
        {
            throw RpcErrors.InvalidArgument($"UpdateContainerResources {id}: {e.Message}");
        }
        if (await _tasks.FindAsync(id, cancellationToken).ConfigureAwait(false) is { } task)
            await task.UpdateAsync(resources.ToJsonString(), cancellationToken).ConfigureAwait(false);
        // The spec too, so that a later start keeps the new limits.
        linux["resources"] = resources;
        container.Spec = SpecAny.Pack(SpecAny.RuntimeSpecType, spec);
        await _containers.TryReplaceAsync(CriNames.Namespace, container, cancellationToken).ConfigureAwait(false);
        await _store.Containers.UpdateAsync(id, r => r.Resources = request.Linux.Clone(), cancellationToken).ConfigureAwait(false);
        return new UpdateContainerResourcesResponse();
    }

    public async Task<ReopenContainerLogResponse> ReopenLogAsync(string requestedId, CancellationToken cancellationToken)
    {
        var id = Resolve(requestedId) ?? throw ContainerNotFound(requestedId);
        var record = _store.Containers.Get(id) ?? throw ContainerNotFound(requestedId);
        if (StateOf(record) != ContainerState.ContainerRunning || await _tasks.FindAsync(id, cancellationToken).ConfigureAwait(false) is not { } task)
            throw RpcErrors.FailedPrecondition($"container \"{id}\" is not running");
        await task.ReopenLogAsync(0, cancellationToken).ConfigureAwait(false);
        return new ReopenContainerLogResponse();
    }

    /// <summary>
    /// Records the exit of a container whose init exited, and deletes its task.
    /// Called by the exit monitor (on EXIT, or at start-up for what happened while
    /// the daemon was down) and by Stop; idempotent.
    /// </summary>
    /// <param name="exitedPid">The process that exited: only the init's exit (the record's pid) finishes the container; an exec's is ignored.</param>
    public async Task FinishAsync(string id, uint exitedPid, CancellationToken cancellationToken)
    {
        using var held = await _locks.ContainerAsync(id, cancellationToken).ConfigureAwait(false);
        if (_store.Containers.Get(id) is { } record && record.Pid == exitedPid)
            await FinishLockedAsync(id, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>An OOM event for the container: its exit (if it dies of it) is reported as OOMKilled.</summary>
    public Task MarkOomAsync(string id, CancellationToken cancellationToken) =>
        _store.Containers.UpdateAsync(id, r => r.OomKilled = true, cancellationToken);

    public bool Knows(string id) => _store.Containers.Get(id) is not null;

    public ContainerRecord? Get(string id) => _store.Containers.Get(id);

    /// <summary>Every container record.</summary>
    public List<ContainerRecord> All() => _store.Containers.List();

    public string? Resolve(string requestedId) => CriIdIndex.Resolve(requestedId, _store.Containers.List().Select(c => c.Id), "container");

    public async Task StopAllInSandboxAsync(string sandboxId, CancellationToken cancellationToken)
    {
        foreach (var record in _store.Containers.List().Where(c => c.SandboxId == sandboxId))
        {
            using var held = await _locks.ContainerAsync(record.Id, cancellationToken).ConfigureAwait(false);
            await StopLockedAsync(record.Id, TimeSpan.Zero, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task RemoveAllInSandboxAsync(string sandboxId, CancellationToken cancellationToken)
    {
        foreach (var record in _store.Containers.List().Where(c => c.SandboxId == sandboxId))
        {
            using var held = await _locks.ContainerAsync(record.Id, cancellationToken).ConfigureAwait(false);
            await RemoveLockedAsync(record.Id, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>CREATED until started, RUNNING until its exit is recorded, then EXITED.</summary>
    public static ContainerState StateOf(ContainerRecord record) =>
        record.FinishedAt != 0 ? ContainerState.ContainerExited
        : record.StartedAt != 0 ? ContainerState.ContainerRunning
        : ContainerState.ContainerCreated;

    private async Task StopLockedAsync(string id, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var record = _store.Containers.Get(id);
        if (record is null || StateOf(record) != ContainerState.ContainerRunning)
            return;
        if (timeout > TimeSpan.Zero)
        {
            await _tasks.KillAsync(id, StopSignal(record), all: false, cancellationToken).ConfigureAwait(false);
            if (await _tasks.WaitStoppedAsync(id, timeout, cancellationToken).ConfigureAwait(false))
            {
                await FinishLockedAsync(id, cancellationToken).ConfigureAwait(false);
                return;
            }
        }
        await _tasks.KillAsync(id, CriTasks.SigKill, all: true, cancellationToken).ConfigureAwait(false);
        if (!await _tasks.WaitStoppedAsync(id, KillWait, cancellationToken).ConfigureAwait(false))
            throw RpcErrors.Internal($"StopContainer: container {id} did not stop within {KillWait.TotalSeconds:0} s of SIGKILL");
        await FinishLockedAsync(id, cancellationToken).ConfigureAwait(false);
    }

    private async Task RemoveLockedAsync(string id, CancellationToken cancellationToken)
    {
        if (_store.Containers.Get(id) is null)
            return;
        await StopLockedAsync(id, TimeSpan.Zero, cancellationToken).ConfigureAwait(false);
        await _tasks.DeleteAsync(id, cancellationToken).ConfigureAwait(false);
        try
        {
            await _records.DeleteAsync(CriNames.Namespace, id, cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
        }
        await _store.Containers.DeleteAsync(id, cancellationToken).ConfigureAwait(false);
        _logger.LogInformation("CRI container removed {ContainerId}", id);
    }

    private async Task FinishLockedAsync(string id, CancellationToken cancellationToken)
    {
        var record = _store.Containers.Get(id);
        if (record is null)
            return;
        var deleted = await _tasks.DeleteAsync(id, cancellationToken).ConfigureAwait(false);
        if (record.FinishedAt != 0 || record.StartedAt == 0)
            return;
        await _store.Containers.UpdateAsync(id, r =>
        {
            r.Pid = 0;
            if (deleted is null)
            {
                // The task went without us (removed by hand while the daemon ran): nothing tells its exit.
                r.FinishedAt = CriNames.Now();
                r.ExitCode = 255;
                r.Reason = "Unknown";
                r.Message = "the container's task was gone; its exit status is unknown";
                return;
            }
            r.ExitCode = (int)deleted.ExitStatus;
            r.FinishedAt = deleted.ExitedAt is null ? CriNames.Now() : UnixNanos.From(deleted.ExitedAt);
            r.Reason = r.OomKilled ? "OOMKilled" : r.ExitCode == 0 ? "Completed" : "Error";
        }, cancellationToken).ConfigureAwait(false);
        _logger.LogInformation("CRI container exited {ContainerId} {ExitCode}", id, deleted?.ExitStatus);
    }

    private uint TargetPid(string containerId)
    {
        var id = Resolve(containerId);
        var record = id is null ? null : _store.Containers.Get(id);
        if (record is null || record.Pid == 0)
            throw new SpecException(StatusCode.NotFound, $"target container \"{containerId}\" for the pid namespace is not running");
        return record.Pid;
    }

    /// <summary>
    /// The config with each bind mount's host path made (a directory, when absent, as
    /// containerd does for the kubelet's emptyDir and hostPath volumes) and its final
    /// symlink resolved, so runc mounts what the kubelet meant.
    /// </summary>
    private static ContainerConfig WithHostPaths(ContainerConfig config)
    {
        if (config.Mounts.Count == 0)
            return config;
        var copy = config.Clone();
        foreach (var mount in copy.Mounts)
        {
            if (mount.HostPath.Length == 0 || !Path.IsPathRooted(mount.HostPath))
                continue;
            if (!File.Exists(mount.HostPath) && !Directory.Exists(mount.HostPath))
                Directory.CreateDirectory(mount.HostPath);
            var info = Directory.Exists(mount.HostPath) ? (FileSystemInfo)new DirectoryInfo(mount.HostPath) : new FileInfo(mount.HostPath);
            if (info.LinkTarget is not null && info.ResolveLinkTarget(returnFinalTarget: true) is { } target)
                mount.HostPath = target.FullName;
        }
        return copy;
    }

    private static uint StopSignal(ContainerRecord record) => record.StopSignal != 0 ? record.StopSignal : CriTasks.SigTerm;

    private static string NameOf(ContainerRecord record) => record.Config.Metadata?.Name ?? "";

    private static string Describe(ContainerState state) => state switch
    {
        ContainerState.ContainerCreated => "CONTAINER_CREATED",
        ContainerState.ContainerRunning => "CONTAINER_RUNNING",
        ContainerState.ContainerExited => "CONTAINER_EXITED",
        _ => "CONTAINER_UNKNOWN",
    };

    private static RpcException ContainerNotFound(string id) => RpcErrors.NotFound($"container \"{id}\" not found");

    private async Task IgnoreFailureAsync(Func<Task> action)
    {
        try
        {
            await action().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            _logger.LogWarning("CRI cleanup step failed: {Error}", e.Message);
        }
    }

    private static string VerboseInfo(ContainerRecord record) => CriInfo.Json(writer =>
    {
        writer.WriteStartObject();
        writer.WriteString("sandboxID", record.SandboxId);
        writer.WriteNumber("pid", record.Pid);
        writer.WriteString("imageRef", record.ImageRef);
        writer.WriteString("imageId", record.ImageId);
        writer.WriteString("logPath", record.LogPath);
        writer.WriteBoolean("oomKilled", record.OomKilled);
        writer.WriteEndObject();
    });
}
