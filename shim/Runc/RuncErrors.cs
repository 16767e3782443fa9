using Containerd.Shim.Mounts;
using Grpc.Core;

namespace Containerd.Shim.Runc;

/// <summary>
/// The one place that decides which gRPC status a runtime failure becomes, so
/// every operation reports the same kind of failure with the same code.
/// </summary>
internal static class RuncErrors
{
    /// <summary>What kind of failure runc reported, judged from its own words.</summary>
    public static RuncErrorKind Classify(RuncException error) =>
        error.ContainerMissing ? RuncErrorKind.ContainerMissing
        : error.IsPrecondition ? RuncErrorKind.Precondition
        : RuncErrorKind.Internal;

    /// <summary>
    /// runc's own words after <paramref name="context"/>, with the code that fits.
    /// An <see cref="RpcException"/> passes through (it already names the task);
    /// any other failure keeps its message as Internal.
    /// </summary>
    public static RpcException ToRpc(Exception exception, string context) => exception switch
    {
        RpcException rpc => rpc,
        RuncException runc => Classify(runc) switch
        {
            RuncErrorKind.ContainerMissing => ShimErrors.NotFound($"{context}: {runc.Message}"),
            RuncErrorKind.Precondition => ShimErrors.FailedPrecondition($"{context}: {runc.Message}"),
            _ => ShimErrors.Internal($"{context}: {runc.Message}"),
        },
        MountException mount => ShimErrors.Internal($"{context}: {mount.Message}"),
        _ => ShimErrors.Internal($"{context}: {exception.Message}"),
    };
}
