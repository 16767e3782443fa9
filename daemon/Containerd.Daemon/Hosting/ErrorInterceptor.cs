using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;

namespace Containerd.Daemon.Hosting;

/// <summary>
/// Turns exceptions that escaped a handler into Internal with their message:
/// the gRPC default (Unknown, "Exception was thrown by handler") tells a
/// client nothing, and the API promises never to answer Unknown.
/// </summary>
public sealed class ErrorInterceptor(ILogger<ErrorInterceptor> logger) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not RpcException)
        {
            throw Translate(e, context);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Unknown)
        {
            throw Translate(e, context);
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not RpcException)
        {
            throw Translate(e, context);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Unknown)
        {
            throw Translate(e, context);
        }
    }

    private RpcException Translate(Exception e, ServerCallContext context)
    {
        if (e is OperationCanceledException && context.CancellationToken.IsCancellationRequested)
            return new RpcException(new Status(StatusCode.Cancelled, "the call was cancelled"));
        var message = e is RpcException rpc ? rpc.Status.Detail : e.Message;
        logger.LogError(e, "{Method} failed: {Error}", context.Method, message);
        return RpcErrors.Internal($"{context.Method}: {message}");
    }
}
