using Grpc.Core;

namespace Containerd.Daemon.Hosting;

/// <summary>Short constructors for the status codes the API promises (api.md's table).</summary>
public static class RpcErrors
{
    public static RpcException InvalidArgument(string message) => Make(StatusCode.InvalidArgument, message);

    public static RpcException NotFound(string message) => Make(StatusCode.NotFound, message);

    public static RpcException AlreadyExists(string message) => Make(StatusCode.AlreadyExists, message);

    public static RpcException FailedPrecondition(string message) => Make(StatusCode.FailedPrecondition, message);

    public static RpcException Unimplemented(string message) => Make(StatusCode.Unimplemented, message);

    public static RpcException Unavailable(string message) => Make(StatusCode.Unavailable, message);

    public static RpcException Internal(string message) => Make(StatusCode.Internal, message);

    public static RpcException ContainerNotFound(string @namespace, string id) =>
        NotFound($"container \"{id}\" not found in namespace \"{@namespace}\"");

    public static RpcException TaskNotFound(string @namespace, string id) =>
        NotFound($"task \"{id}\" not found in namespace \"{@namespace}\"");

    private static RpcException Make(StatusCode code, string message) => new(new Status(code, message), message);
}
