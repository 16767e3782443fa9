using Containerd.Daemon.Hosting;
using Containerd.Shared.Bundles;
using Containerd.Shared.Grpc;
using Grpc.Core;
using Grpc.Net.Client;
using ShimApi = Containerd.Api.Shim;

namespace Containerd.Daemon.Shims;

/// <summary>
/// The daemon's line to one shim: its gRPC client and its process. Calls go
/// through <see cref="CallAsync{T}"/>, which forwards the shim's status (code
/// and message, i.e. runc's words) unchanged and explains a dead shim.
/// </summary>
public sealed class ShimConnection : IDisposable
{
    private readonly GrpcChannel _channel;

    public ShimConnection(string @namespace, string id, TaskBundle bundle, string socket, IShimOsProcess process)
    {
        Namespace = @namespace;
        Id = id;
        Bundle = bundle;
        Socket = socket;
        Process = process;
        _channel = UnixSocketChannel.Create(socket, TimeSpan.FromSeconds(5));
        Client = new ShimApi.Shim.ShimClient(_channel);
    }

    public string Namespace { get; }

    public string Id { get; }

    public TaskBundle Bundle { get; }

    public string Socket { get; }

    public IShimOsProcess Process { get; }

    public ShimApi.Shim.ShimClient Client { get; }

    public async Task<T> CallAsync<T>(
        Func<ShimApi.Shim.ShimClient, CallOptions, AsyncUnaryCall<T>> call,
        CancellationToken cancellationToken,
        TimeSpan? timeout = null)
    {
        var options = new CallOptions(
            deadline: timeout is { } t ? DateTime.UtcNow + t : null,
            cancellationToken: cancellationToken);
        try
        {
            return await call(Client, options).ConfigureAwait(false);
        }
        catch (RpcException e)
        {
            throw Translate(e, cancellationToken);
        }
        catch (ObjectDisposedException)
        {
            // The connection was closed because the shim died (or the daemon is stopping).
            throw RpcErrors.Unavailable($"shim of task \"{Id}\" in namespace \"{Namespace}\" (pid {Process.Pid}) is gone");
        }
    }

    private RpcException Translate(RpcException e, CancellationToken cancellationToken)
    {
        var what = $"shim of task \"{Id}\" in namespace \"{Namespace}\"";
        switch (e.StatusCode)
        {
            case StatusCode.Cancelled when cancellationToken.IsCancellationRequested:
                return new RpcException(new Status(StatusCode.Cancelled, "the call was cancelled"));
            case StatusCode.Unavailable or StatusCode.Cancelled:
                return Process.HasExited
                    ? RpcErrors.Unavailable($"{what} (pid {Process.Pid}) has exited; delete the task to clean up")
                    : RpcErrors.Unavailable($"{what} (pid {Process.Pid}) is unreachable: {e.Status.Detail}");
            case StatusCode.DeadlineExceeded:
                return new RpcException(new Status(StatusCode.DeadlineExceeded, $"{what} did not answer in time: {e.Status.Detail}"));
            case StatusCode.Unknown:
                // The API never answers Unknown; an unhandled error in the shim is internal.
                return RpcErrors.Internal($"{what}: {e.Status.Detail}");
            default:
                return new RpcException(e.Status, e.Status.Detail);
        }
    }

    public void Dispose() => _channel.Dispose();
}
