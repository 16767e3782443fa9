using Grpc.Core;

namespace Containerd.Shim;

/// <summary>gRPC errors with the status codes the API promises (api.md, "Status codes users should see").</summary>
internal static class ShimErrors
{
    public static RpcException NotFound(string message) => new(new Status(StatusCode.NotFound, message));

    public static RpcException AlreadyExists(string message) => new(new Status(StatusCode.AlreadyExists, message));

    public static RpcException FailedPrecondition(string message) => new(new Status(StatusCode.FailedPrecondition, message));

    public static RpcException InvalidArgument(string message) => new(new Status(StatusCode.InvalidArgument, message));

    public static RpcException Internal(string message) => new(new Status(StatusCode.Internal, message));

    public static RpcException Unimplemented(string message) => new(new Status(StatusCode.Unimplemented, message));
}
