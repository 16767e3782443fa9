using Containerd.Shared.Grpc;
using Containerd.Shared.Identifiers;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using ContentClient = Containerd.Api.Content.Content.ContentClient;
using ImagesClient = Containerd.Api.Images.Images.ImagesClient;
using PullClient = Containerd.Api.Images.Pull.PullClient;
using ContainersClient = Containerd.Api.Containers.Containers.ContainersClient;
using TasksClient = Containerd.Api.Execution.Tasks.TasksClient;
using VersionClient = Containerd.Api.Version.Version.VersionClient;

namespace Containerd.Ctr.Client;

/// <summary>
/// One connection to the daemon. Every call carries the namespace header,
/// because the daemon scopes containers, tasks and events by it.
/// </summary>
public sealed class DaemonClient : IDisposable
{
    private readonly GrpcChannel _channel;

    public DaemonClient(string address, string @namespace)
    {
        Address = address;
        Namespace = @namespace;
        _channel = UnixSocketChannel.Create(address, TimeSpan.FromSeconds(5));
        var invoker = _channel.Intercept(metadata =>
        {
            metadata.Add(Namespaces.Header, @namespace);
            return metadata;
        });
        Tasks = new TasksClient(invoker);
        Containers = new ContainersClient(invoker);
        Version = new VersionClient(invoker);
        Content = new ContentClient(invoker);
        Images = new ImagesClient(invoker);
        Pull = new PullClient(invoker);
    }

    public string Address { get; }

    public string Namespace { get; }

    public TasksClient Tasks { get; }

    public ContainersClient Containers { get; }

    public VersionClient Version { get; }

    public ContentClient Content { get; }

    public ImagesClient Images { get; }

    public PullClient Pull { get; }

    public void Dispose() => _channel.Dispose();
}
