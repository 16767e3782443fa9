using Grpc.Core;

namespace Containerd.LeanGrpc.Calls;

internal sealed class UnaryMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse> handler)
    : ServerMethod
    where TRequest : class
    where TResponse : class
{
    public override async Task HandleAsync(ServerCall call, byte[] request)
    {
        var message = method.RequestMarshaller.ContextualDeserializer(new MessageReader(request));
        var response = await handler(message, call).ConfigureAwait(false);
        var framed = MessageWriter.Frame(method.ResponseMarshaller, response, out var length);
        call.Complete(framed, length);
    }
}
