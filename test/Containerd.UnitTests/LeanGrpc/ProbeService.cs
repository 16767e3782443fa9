using Containerd.UnitTests.LeanGrpc.Proto;
using Google.Protobuf;
using Grpc.Core;

namespace Containerd.UnitTests.LeanGrpc;

/// <summary>The test service: each method one behaviour the server must get right.</summary>
internal sealed class ProbeService : Probe.ProbeBase
{
    /// <summary>Completes when a Hang call starts (its tag), then when its token is cancelled.</summary>
    public readonly System.Collections.Concurrent.ConcurrentDictionary<string, TaskCompletionSource> HangStarted = new();
    public readonly System.Collections.Concurrent.ConcurrentDictionary<string, TaskCompletionSource> HangCancelled = new();

    public override async Task<EchoReply> Echo(EchoRequest request, ServerCallContext context)
    {
        if (request.Text.StartsWith("sleep:", StringComparison.Ordinal))
            await Task.Delay(int.Parse(request.Text[6..], System.Globalization.CultureInfo.InvariantCulture), CancellationToken.None);
        var payload = request.ReplySize > 0 ? ByteString.CopyFrom(Pattern(request.ReplySize)) : request.Payload;
        return new EchoReply { Text = request.Text, Payload = payload };
    }

    public override async Task Count(CountRequest request, IServerStreamWriter<CountReply> responseStream, ServerCallContext context)
    {
        var payload = ByteString.CopyFrom(Pattern(request.PayloadSize));
        for (var i = 0; i < request.Count; i++)
        {
            if (request.DelayMs > 0 && i % 10 == 0)
                await Task.Delay(request.DelayMs, context.CancellationToken);
            await responseStream.WriteAsync(new CountReply { Index = i, Payload = payload }, context.CancellationToken);
        }
    }

    public override async Task<EchoReply> Hang(HangRequest request, ServerCallContext context)
    {
        var cancelled = HangCancelled.GetOrAdd(request.Tag, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        context.CancellationToken.Register(() => cancelled.TrySetResult());
        HangStarted.GetOrAdd(request.Tag, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        await cancelled.Task;
        context.CancellationToken.ThrowIfCancellationRequested();
        return new EchoReply();
    }

    public override Task<EchoReply> Fail(FailRequest request, ServerCallContext context) =>
        throw new RpcException(new Status((StatusCode)request.Code, request.Message));

    public Task Started(string tag) =>
        HangStarted.GetOrAdd(tag, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    public Task Cancelled(string tag) =>
        HangCancelled.GetOrAdd(tag, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    public static byte[] Pattern(int size)
    {
        var bytes = new byte[size];
        for (var i = 0; i < size; i++)
            bytes[i] = (byte)(i * 7 + 3);
        return bytes;
    }
}
