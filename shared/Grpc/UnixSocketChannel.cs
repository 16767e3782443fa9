using System.Net.Sockets;
using Grpc.Net.Client;

namespace Containerd.Shared.Grpc;

/// <summary>Creates gRPC channels over a filesystem unix socket (HTTP/2 without TLS).</summary>
public static class UnixSocketChannel
{
    public static GrpcChannel Create(string socketPath, TimeSpan? connectTimeout = null)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = connectTimeout ?? TimeSpan.FromSeconds(10),
            EnableMultipleHttp2Connections = true,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        return GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions
        {
            HttpHandler = handler,
            MaxReceiveMessageSize = 64 * 1024 * 1024,
            DisposeHttpClient = true,
        });
    }
}
