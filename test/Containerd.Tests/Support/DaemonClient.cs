using Containerd.Api.Containers;
using Containerd.Api.Execution;
using Containerd.Shared.Grpc;
using Containerd.Shared.Identifiers;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
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
    }

    public string Namespace { get; }

    public Metadata Headers { get; }

    public TasksClient Tasks { get; }

    public ContainersClient Containers { get; }

    public Containerd.Api.Version.Version.VersionClient Version { get; }

    public CallOptions Options(CancellationToken cancellationToken = default) =>
        new(headers: Headers, deadline: DateTime.UtcNow.AddMinutes(2), cancellationToken: cancellationToken);

    public async Task<Container> CreateContainerAsync(string id, params string[] args)
    {
        var container = new Container
        {
            Id = id,
            Spec = new Google.Protobuf.WellKnownTypes.Any
            {
                TypeUrl = OciSpecs.TypeUrl,
                Value = ByteString.CopyFromUtf8(OciSpecs.Container(id, args)),
            },
        };
        var response = await Containers.CreateAsync(new CreateContainerRequest { Container = container }, Options());
        return response.Container;
    }

    /// <summary>Creates a container record and its task on the busybox rootfs; returns the init pid.</summary>
    public async Task<uint> CreateTaskAsync(string id, string[] args, string stdin = "", string stdout = "", string stderr = "")
    {
        await CreateContainerAsync(id, args);
        var request = new CreateRequest { ContainerId = id, Stdin = stdin, Stdout = stdout, Stderr = stderr };
        request.Rootfs.Add(OciSpecs.RootfsBind(TestPaths.Rootfs));
        var response = await Tasks.CreateAsync(request, Options());
        return response.Pid;
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

    public EventRecorder SubscribeEvents() => new(this);

    /// <summary>Best-effort removal of a task and its container, for test teardown.</summary>
    public async Task RemoveAsync(string id)
    {
        try
        {
            await Tasks.KillAsync(new KillRequest { ContainerId = id, Signal = 9, All = true }, Options());
        }
        catch (RpcException)
        {
        }

        for (var attempt = 0; attempt < 50; attempt++)
        {
            try
            {
                await Tasks.DeleteAsync(new DeleteRequest { ContainerId = id }, Options());
                break;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.FailedPrecondition)
            {
                await Task.Delay(100);
            }
            catch (RpcException)
            {
                break;
            }
        }

        try
        {
            await Containers.DeleteAsync(new DeleteContainerRequest { Id = id }, Options());
        }
        catch (RpcException)
        {
        }
    }

    public void Dispose() => _channel.Dispose();
}
