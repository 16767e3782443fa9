using Grpc.Core;

namespace Containerd.LeanGrpc.Calls;

internal sealed class ServerStreamingMethod<TRequest, TResponse>(
    Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse> handler)
    : ServerMethod
    where TRequest : class
    where TResponse : class
{
    public override async Task HandleAsync(ServerCall call, byte[] request)
    {
        var message = method.RequestMarshaller.ContextualDeserializer(new MessageReader(request));
        await handler(message, new ResponseStreamWriter<TResponse>(call, method.ResponseMarshaller), call).ConfigureAwait(false);
        call.Complete(null, 0);
    }
}
