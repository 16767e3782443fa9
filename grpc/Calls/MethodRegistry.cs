using Grpc.Core;

namespace Containerd.LeanGrpc.Calls;

/// <summary>
/// Collects the methods a generated BindService(ServiceBinderBase, ...) adds,
/// keyed by their HTTP/2 :path. Client and duplex streaming are not served:
/// such calls get UNIMPLEMENTED, like an unknown method.
/// </summary>
public sealed class MethodRegistry : ServiceBinderBase
{
    private readonly Dictionary<string, ServerMethod> _methods = new(StringComparer.Ordinal);

    internal ServerMethod? Find(string path) => _methods.GetValueOrDefault(path);

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler)
    {
        if (handler is not null)
            _methods[method.FullName] = new UnaryMethod<TRequest, TResponse>(method, handler);
    }

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler)
    {
        if (handler is not null)
            _methods[method.FullName] = new ServerStreamingMethod<TRequest, TResponse>(method, handler);
    }

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler)
    {
        // Not served: the shim API has none, and the call answers UNIMPLEMENTED.
    }

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler)
    {
        // Not served: the shim API has none, and the call answers UNIMPLEMENTED.
    }
}
