using Grpc.Core;

namespace Containerd.Daemon.Cri.Specs;

/// <summary>
/// A CRI config the spec cannot be built from, with the gRPC status the CRI
/// call should answer (InvalidArgument for a malformed request, NotFound for a
/// device or profile that is not there) and a message naming the field.
/// </summary>
public sealed class SpecException(StatusCode code, string message, Exception? inner = null) : Exception(message, inner)
{
    public StatusCode Code { get; } = code;

    public RpcException ToRpcException() => new(new Status(Code, Message), Message);
}
