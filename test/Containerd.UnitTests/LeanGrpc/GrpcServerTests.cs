using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Containerd.LeanGrpc.Calls;
using Containerd.LeanGrpc.Transport;
using Containerd.UnitTests.LeanGrpc.Proto;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;

namespace Containerd.UnitTests.LeanGrpc;

/// <summary>
/// The shim's gRPC server (nghttp2 underneath) on a temporary unix socket,
/// driven by the same client the daemon uses: Grpc.Net.Client over a
/// SocketsHttpHandler connected to the socket.
/// </summary>
[TestFixture]
public sealed class GrpcServerTests
{
    private string _dir = "";
    private string _socket = "";
    private ProbeService _service = null!;
    private GrpcServer _server = null!;
    private GrpcChannel _channel = null!;
    private Probe.ProbeClient _client = null!;

    [SetUp]
    public void StartServer()
    {
        _dir = Directory.CreateTempSubdirectory("grpc-server-").FullName;
        _socket = Path.Combine(_dir, "s.sock");
        _service = new ProbeService();
        var methods = new MethodRegistry();
        Probe.BindService(methods, _service);
        _server = new GrpcServer(methods);
        _server.Start(_socket);
        // The daemon's own channel to its shims.
        _channel = Containerd.Shared.Grpc.UnixSocketChannel.Create(_socket);
        _client = new Probe.ProbeClient(_channel);
    }

    [TearDown]
    public async Task StopServer()
    {
        _channel.Dispose();
        await _server.StopAsync(TimeSpan.FromSeconds(1)).WaitAsync(TimeSpan.FromSeconds(10));
        Directory.Delete(_dir, true);
    }

    internal static GrpcChannel OpenChannel(string socket, Action<Socket>? connected = null) =>
        GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions
        {
            MaxReceiveMessageSize = 64 * 1024 * 1024,
            HttpHandler = new SocketsHttpHandler
            {
                ConnectCallback = async (_, cancellationToken) =>
                {
                    var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    await s.ConnectAsync(new UnixDomainSocketEndPoint(socket), cancellationToken);
                    connected?.Invoke(s);
                    return new NetworkStream(s, ownsSocket: true);
                },
            },
        });

    [Test]
    public async Task UnaryCallEchoes()
    {
        var reply = await _client.EchoAsync(new EchoRequest { Text = "hello", Payload = ByteString.CopyFromUtf8("abc") });
        Assert.That(reply.Text, Is.EqualTo("hello"));
        Assert.That(reply.Payload.ToStringUtf8(), Is.EqualTo("abc"));
    }

    [Test]
    public async Task EmptyMessagesRoundTrip()
    {
        var reply = await _client.EchoAsync(new EchoRequest());
        Assert.That(reply.Text, Is.Empty);
    }

    [Test]
    public async Task ServerStreamDeliversEveryMessageInOrder()
    {
        using var call = _client.Count(new CountRequest { Count = 50, PayloadSize = 10_000 });
        var indexes = new List<int>();
        while (await call.ResponseStream.MoveNext(CancellationToken.None))
        {
            indexes.Add(call.ResponseStream.Current.Index);
            Assert.That(call.ResponseStream.Current.Payload.Length, Is.EqualTo(10_000));
        }
        Assert.That(indexes, Is.EqualTo(Enumerable.Range(0, 50)));
        Assert.That(call.GetStatus().StatusCode, Is.EqualTo(StatusCode.OK));
    }

    /// <summary>Many writers posting to the loop at once: a lost wake-up would stall a stream for good.</summary>
    [Test]
    public async Task ManyConcurrentStreamsNeverStall()
    {
        async Task<int> ReadAll()
        {
            using var call = _client.Count(new CountRequest { Count = 500, PayloadSize = 10 });
            var n = 0;
            while (await call.ResponseStream.MoveNext(CancellationToken.None))
                n++;
            return n;
        }
        var counts = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Task.Run(ReadAll))).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.That(counts, Is.All.EqualTo(500));
    }

    /// <summary>The daemon's pattern: a long-lived server stream and thousands of short calls beside it on one connection.</summary>
    [Test]
    public async Task ShortCallsBesideALongStream()
    {
        using var stream = _client.Count(new CountRequest { Count = 4000, PayloadSize = 100, DelayMs = 1 });
        var reader = Task.Run(async () =>
        {
            var n = 0;
            while (await stream.ResponseStream.MoveNext(CancellationToken.None))
                n++;
            return n;
        });
        for (var i = 0; i < 3000; i++)
        {
            var reply = await _client.EchoAsync(new EchoRequest { Text = "t" + i, Payload = ByteString.CopyFrom(new byte[3000]) }, deadline: DateTime.UtcNow.AddSeconds(10));
            Assert.That(reply.Text, Is.EqualTo("t" + i));
        }
        Assert.That(await reader.WaitAsync(TimeSpan.FromSeconds(60)), Is.EqualTo(4000));
    }

    [Test]
    public async Task ClientCancellationCancelsTheHandlersToken()
    {
        using var cts = new CancellationTokenSource();
        var call = _client.HangAsync(new HangRequest { Tag = "c" }, cancellationToken: cts.Token);
        await _service.Started("c").WaitAsync(TimeSpan.FromSeconds(10));
        cts.Cancel();
        var e = Assert.ThrowsAsync<RpcException>(async () => await call);
        Assert.That(e!.StatusCode, Is.EqualTo(StatusCode.Cancelled));
        await _service.Cancelled("c").WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Test]
    public async Task DeadlineAnswersDeadlineExceededAndCancelsTheHandler()
    {
        var watch = Stopwatch.StartNew();
        var e = Assert.ThrowsAsync<RpcException>(async () =>
            await _client.HangAsync(new HangRequest { Tag = "d" }, deadline: DateTime.UtcNow.AddMilliseconds(300)));
        Assert.That(e!.StatusCode, Is.EqualTo(StatusCode.DeadlineExceeded));
        await _service.Cancelled("d").WaitAsync(TimeSpan.FromSeconds(10));
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)));
    }

    [Test]
    public async Task LargeRequestAndReply()
    {
        const int size = 4 * 1024 * 1024;
        var payload = ProbeService.Pattern(size);
        var reply = await _client.EchoAsync(new EchoRequest { Payload = ByteString.CopyFrom(payload), ReplySize = size });
        Assert.That(reply.Payload.Span.SequenceEqual(payload), Is.True);
    }

    [Test]
    public async Task HundredConcurrentCallsOnOneChannel()
    {
        var calls = Enumerable.Range(0, 100)
            .Select(i => _client.EchoAsync(new EchoRequest { Text = $"sleep:{i % 10}", Payload = ByteString.CopyFrom(new byte[i * 100]) }).ResponseAsync);
        var replies = await Task.WhenAll(calls);
        Assert.That(replies.Select(r => r.Payload.Length), Is.EqualTo(Enumerable.Range(0, 100).Select(i => i * 100)));
    }

    [Test]
    public async Task ClientThatVanishesMidCallCancelsItsHandler()
    {
        using (var raw = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            await raw.ConnectAsync(new UnixDomainSocketEndPoint(_socket));
            await raw.SendAsync(RawRequest("/containerd.test.grpc.Probe/Hang", new HangRequest { Tag = "v" }.ToByteArray(), compressed: false));
            await _service.Started("v").WaitAsync(TimeSpan.FromSeconds(10));
        }
        await _service.Cancelled("v").WaitAsync(TimeSpan.FromSeconds(10));
        var reply = await _client.EchoAsync(new EchoRequest { Text = "still serving" });
        Assert.That(reply.Text, Is.EqualTo("still serving"));
    }

    [Test]
    public void UnknownMethodIsUnimplemented()
    {
        var marshaller = Marshallers.Create((EchoRequest m) => m.ToByteArray(), EchoRequest.Parser.ParseFrom);
        var method = new Method<EchoRequest, EchoRequest>(MethodType.Unary, "containerd.test.grpc.Probe", "Nope", marshaller, marshaller);
        var e = Assert.ThrowsAsync<RpcException>(async () =>
            await _channel.CreateCallInvoker().AsyncUnaryCall(method, null, new CallOptions(), new EchoRequest()));
        Assert.That(e!.StatusCode, Is.EqualTo(StatusCode.Unimplemented));
    }

    [TestCase(StatusCode.NotFound, "task \"x\" not found")]
    [TestCase(StatusCode.FailedPrecondition, "déjà vu: 100% ünïcode ✓ 容器\nsecond line")]
    [TestCase(StatusCode.Internal, "")]
    public void ErrorStatusAndMessageRoundTrip(StatusCode code, string message)
    {
        var e = Assert.ThrowsAsync<RpcException>(async () =>
            await _client.FailAsync(new FailRequest { Code = (int)code, Message = message }));
        Assert.That(e!.StatusCode, Is.EqualTo(code));
        Assert.That(e.Status.Detail, Is.EqualTo(message));
    }

    [Test]
    public void OversizeMessageIsResourceExhausted()
    {
        var e = Assert.ThrowsAsync<RpcException>(async () =>
            await _client.EchoAsync(new EchoRequest { Payload = ByteString.CopyFrom(new byte[17 * 1024 * 1024]) }));
        Assert.That(e!.StatusCode, Is.EqualTo(StatusCode.ResourceExhausted));
    }

    [Test]
    public async Task CompressedMessageIsUnimplemented()
    {
        var headers = new Metadata { { "grpc-internal-encoding-request", "gzip" } };
        var e = Assert.ThrowsAsync<RpcException>(async () =>
            await _client.EchoAsync(new EchoRequest { Text = "zip" }, headers));
        Assert.That(e!.StatusCode, Is.EqualTo(StatusCode.Unimplemented));
        Assert.That(e.Status.Detail, Does.Contain("compression not supported"));
        Assert.That((await _client.EchoAsync(new EchoRequest { Text = "plain" })).Text, Is.EqualTo("plain"));
    }

    [Test]
    public async Task GracefulStopFinishesInFlightCalls()
    {
        var slow = _client.EchoAsync(new EchoRequest { Text = "sleep:300" }).ResponseAsync;
        await Task.Delay(100);
        var watch = Stopwatch.StartNew();
        await _server.StopAsync(TimeSpan.FromSeconds(5)).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.That((await slow).Text, Is.EqualTo("sleep:300"));
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(2)));
        Assert.That(File.Exists(_socket), Is.True, "the socket file is the host's to remove");
    }

    [Test]
    public async Task StopWithIdleConnectionIsFast()
    {
        await _client.EchoAsync(new EchoRequest { Text = "warm" });
        var watch = Stopwatch.StartNew();
        await _server.StopAsync(TimeSpan.FromSeconds(5)).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromMilliseconds(200)));
    }

    [Test]
    public async Task StopCancelsCallsStillRunningAfterTheGracePeriod()
    {
        var call = _client.HangAsync(new HangRequest { Tag = "s" }).ResponseAsync;
        await _service.Started("s").WaitAsync(TimeSpan.FromSeconds(10));
        await _server.StopAsync(TimeSpan.FromMilliseconds(100)).WaitAsync(TimeSpan.FromSeconds(10));
        await _service.Cancelled("s").WaitAsync(TimeSpan.FromSeconds(10));
        var e = Assert.ThrowsAsync<RpcException>(async () => await call);
        Assert.That(e!.StatusCode, Is.EqualTo(StatusCode.Unavailable));
    }

    /// <summary>An HTTP/2 connection preface, SETTINGS, and one gRPC request (HPACK literals, no Huffman) with END_STREAM.</summary>
    internal static byte[] RawRequest(string path, byte[] message, bool compressed)
    {
        var bytes = new List<byte>();
        bytes.AddRange("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray());
        AddFrame(bytes, 4, 0, 0, []);
        var block = new List<byte>();
        foreach (var (name, value) in new[]
                 {
                     (":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "localhost"),
                     ("content-type", "application/grpc"), ("te", "trailers"),
                 })
        {
            block.Add(0);
            block.Add((byte)name.Length);
            block.AddRange(Encoding.ASCII.GetBytes(name));
            block.Add((byte)value.Length);
            block.AddRange(Encoding.ASCII.GetBytes(value));
        }
        AddFrame(bytes, 1, 0x4, 1, block.ToArray());
        var data = new byte[5 + message.Length];
        data[0] = compressed ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(1), message.Length);
        message.CopyTo(data, 5);
        AddFrame(bytes, 0, 0x1, 1, data);
        return bytes.ToArray();
    }

    private static void AddFrame(List<byte> bytes, byte type, byte flags, int stream, byte[] payload)
    {
        bytes.Add((byte)(payload.Length >> 16));
        bytes.Add((byte)(payload.Length >> 8));
        bytes.Add((byte)payload.Length);
        bytes.Add(type);
        bytes.Add(flags);
        var id = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(id, stream);
        bytes.AddRange(id);
        bytes.AddRange(payload);
    }
}
