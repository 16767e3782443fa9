using Containerd.Api.Containers;
using Containerd.Api.Execution;
using Containerd.Shared.Grpc;
using Containerd.Shared.Identifiers;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using ContentClient = Containerd.Api.Content.Content.ContentClient;
using ContainersClient = Containerd.Api.Containers.Containers.ContainersClient;
using TasksClient = Containerd.Api.Execution.Tasks.TasksClient;

namespace Containerd.Tests.Support;

/// <summary>The daemon's public API as one namespace's client sees it.</summary>
public sealed class DaemonClient : IDisposable
{
    private readonly GrpcChannel _channel;

    public DaemonClient(string address, string ns)
    {
        _channel = UnixSocketChannel.Create(address);
        Namespace = ns;
        Headers = new Metadata { { Namespaces.Header, ns } };
        Tasks = new TasksClient(_channel);
        Containers = new ContainersClient(_channel);
        Version = new Containerd.Api.Version.Version.VersionClient(_channel);
        Content = new ContentClient(_channel);
    }

    public string Namespace { get; }

    public Metadata Headers { get; }

    public TasksClient Tasks { get; }

    public ContainersClient Containers { get; }

    public Containerd.Api.Version.Version.VersionClient Version { get; }

    public ContentClient Content { get; }

    public CallOptions Options(CancellationToken cancellationToken = default) =>
        new(headers: Headers, deadline: DateTime.UtcNow.AddMinutes(2), cancellationToken: cancellationToken);

    public Task<Container> CreateContainerAsync(string id, params string[] args) =>
        CreateContainerWithSpecAsync(id, OciSpecs.Container(id, args));

    /// <summary>Creates a container record and runs its task with a memory limit (linux.resources.memory.limit); returns the init pid.</summary>
    public async Task<uint> RunWithMemoryLimitAsync(string id, long memoryLimit, params string[] args)
    {
        await CreateContainerWithSpecAsync(id, OciSpecs.Container(id, args, memoryLimit));
        var pid = (await Tasks.CreateAsync(CreateTaskRequest(id), Options())).Pid;
        await Tasks.StartAsync(new StartRequest { ContainerId = id }, Options());
        return pid;
    }

    /// <summary>A container record with a spec of the test's own (see <see cref="OciSpecs"/>).</summary>
    public async Task<Container> CreateContainerWithSpecAsync(string id, string specJson)
    {
        var container = new Container
        {
            Id = id,
            Spec = new Google.Protobuf.WellKnownTypes.Any
            {
                TypeUrl = OciSpecs.TypeUrl,
                Value = ByteString.CopyFromUtf8(specJson),
            },
        };
        var response = await Containers.CreateAsync(new CreateContainerRequest { Container = container }, Options());
        return response.Container;
    }

    /// <summary>Creates a container record and its task on the busybox rootfs; returns the init pid.</summary>
    public async Task<uint> CreateTaskAsync(string id, string[] args, string stdin = "", string stdout = "", string stderr = "")
    {
        await CreateContainerAsync(id, args);
        var request = CreateTaskRequest(id);
        (request.Stdin, request.Stdout, request.Stderr) = (stdin, stdout, stderr);
        var response = await Tasks.CreateAsync(request, Options());
        return response.Pid;
    }

    /// <summary>A Tasks.Create request for the container <paramref name="id"/> on the busybox rootfs.</summary>
    public static CreateRequest CreateTaskRequest(string id)
    {
        var request = new CreateRequest { ContainerId = id };
        request.Rootfs.Add(OciSpecs.RootfsBind(TestPaths.Rootfs));
        return request;
    }

    public async Task<uint> RunAsync(string id, params string[] args)
    {
        var pid = await CreateTaskAsync(id, args);
        await Tasks.StartAsync(new StartRequest { ContainerId = id }, Options());
        return pid;
    }

    public Task<ExecResponse> ExecAsync(string id, string[] args, string stdin = "", string stdout = "", string stderr = "") =>
        Tasks.ExecAsync(new ExecRequest
        {
            ContainerId = id,
            Stdin = stdin,
            Stdout = stdout,
            Stderr = stderr,
            Spec = new Google.Protobuf.WellKnownTypes.Any
            {
                TypeUrl = OciSpecs.ProcessTypeUrl,
                Value = ByteString.CopyFromUtf8(OciSpecs.Process(args)),
            },
        }, Options()).ResponseAsync;

    /// <summary>
    /// A recorder of this namespace's events, returned once the daemon has accepted the
    /// subscription: whatever the test does next is recorded.
    /// </summary>
    public async Task<EventRecorder> SubscribeEventsAsync(CancellationToken cancellationToken = default)
    {
        var recorder = new EventRecorder(this);
        try
        {
            await recorder.Subscribed.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
            return recorder;
        }
        catch
        {
            await recorder.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Removes a task (killed first, unless it has stopped) and its container, for the end of a
    /// test. Every step is tried even when one fails; the failures are then thrown together,
    /// each with its cause, so a teardown that goes wrong says why rather than leaving a leak to
    /// be found later. A task that does not exist is no failure: only the container record is
    /// then removed.
    /// </summary>
    public async Task RemoveAsync(string id, CancellationToken cancellationToken = default)
    {
        var failures = new List<Exception>();
        await using var events = await SubscribeEventsAsync(cancellationToken);
        Containerd.Api.Types.Task? task = null;
        try
        {
            task = (await Tasks.InfoAsync(new InfoRequest { ContainerId = id }, Options(cancellationToken))).Task;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
        }
        catch (RpcException e)
        {
            failures.Add(new InvalidOperationException($"Info of {id}: {e.Status}", e));
        }

        Containerd.Api.Types.Event? killed = null;
        if (task is not null && task.Status != Containerd.Api.Types.Status.Stopped)
        {
            // Subscribed before the Info above, so an exit after it is in the stream.
            try
            {
                var exitedByItself = false;
                try
                {
                    await Tasks.KillAsync(new KillRequest { ContainerId = id, Signal = 9, All = true }, Options(cancellationToken));
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
                {
                    // It exited on its own between the Info and the Kill: its EXIT is still due.
                    exitedByItself = true;
                }
                var exit = await events.WaitForExitAsync(id, task.Pid, cancellationToken);
                killed = exitedByItself ? null : exit;
            }
            catch (Exception e) when (e is RpcException or TimeoutException or InvalidOperationException)
            {
                failures.Add(new InvalidOperationException($"Kill of {id} (pid {task.Pid}, {task.Status}) and its EXIT: {e.Message}", e));
            }
        }

        if (task is not null)
        {
            try
            {
                var deleted = await Tasks.DeleteAsync(new DeleteRequest { ContainerId = id }, Options(cancellationToken));
                // A task this method killed is checked as the tests check theirs (see KilledTask).
                if (killed is not null && (deleted.ExitStatus != 137 || killed.ExitStatus != 137 || deleted.ExitedAt is null
                        || !deleted.ExitedAt.Equals(killed.ExitedAt) || !Probe.IsGone(task.Pid)))
                {
                    failures.Add(new InvalidOperationException(
                        $"Delete of killed task {id} answered status {deleted.ExitStatus} at {deleted.ExitedAt} (EXIT event: {killed.ExitStatus} at " +
                        $"{killed.ExitedAt}; want 137 at the same time) and left pid {task.Pid} {Probe.Describe(task.Pid)}"));
                }
            }
            catch (RpcException e)
            {
                failures.Add(new InvalidOperationException($"Delete of task {id}: {e.Status}", e));
            }
        }

        try
        {
            await Containers.DeleteAsync(new DeleteContainerRequest { Id = id }, Options(cancellationToken));
        }
        catch (RpcException e)
        {
            failures.Add(new InvalidOperationException($"Delete of container {id}: {e.Status}", e));
        }

        if (failures.Count > 0)
            throw new AggregateException($"removing {id} in namespace {Namespace} failed: " + string.Join("; ", failures.Select(f => f.Message)), failures);
    }

    public void Dispose() => _channel.Dispose();
}
