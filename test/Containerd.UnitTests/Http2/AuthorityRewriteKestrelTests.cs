using System.Net.Sockets;
using Containerd.Http2;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using static Containerd.UnitTests.Http2.TestFrames;

namespace Containerd.UnitTests.Http2;

/// <summary>
/// End to end: a real Kestrel HTTP/2 server on a unix socket, spoken to with hand-made frames, so
/// Kestrel's own HPACK decoder and Host validation judge the rewritten stream.
/// </summary>
[NonParallelizable]
public sealed class AuthorityRewriteKestrelTests
{
    private const int ProtocolError = 1;
    private const int CompressionError = 9;

    private static byte[] Get(int streamId, TestHpackBlock rest) =>
        HeadersFrame(streamId, new TestHpackBlock().Indexed(2).Indexed(6).Indexed(4).Raw(rest.ToArray()).ToArray());

    [Test]
    public async Task SocketPathAuthorityIsAcceptedWithTheMiddleware()
    {
        var logger = new ListLogger();
        await using var server = await TestServer.StartAsync(rewrite: true, logger);
        await using var client = await RawClient.ConnectAsync(server.SocketPath);

        await client.SendAsync(Concat(Preface, SettingsFrame(), Get(1, new TestHpackBlock().Incremental(1, "/tmp/x.sock", huffman: true))));
        var first = await client.ReadResponseAsync(1);
        Assert.That(first.Status, Is.EqualTo("200"), first.ToString());
        Assert.That(first.Header("x-host"), Is.EqualTo("localhost"));

        // The same connection, the authority now sent as dynamic index 62.
        await client.SendAsync(Get(3, new TestHpackBlock().Indexed(62)));
        var second = await client.ReadResponseAsync(3);
        Assert.That(second.Status, Is.EqualTo("200"), second.ToString());
        Assert.That(second.Header("x-host"), Is.EqualTo("localhost"));

        Assert.That(logger.Messages, Has.Count.EqualTo(1));
        Assert.That(logger.Messages[0], Does.Contain("/tmp/x.sock"));
    }

    [Test]
    public async Task SocketPathAuthorityIsResetWithoutTheMiddleware()
    {
        await using var server = await TestServer.StartAsync(rewrite: false);
        await using var client = await RawClient.ConnectAsync(server.SocketPath);

        await client.SendAsync(Concat(Preface, SettingsFrame(), Get(1, new TestHpackBlock().Incremental(1, "/tmp/x.sock", huffman: true))));
        var response = await client.ReadResponseAsync(1);
        Assert.That(response.ResetCode, Is.EqualTo(ProtocolError), response.ToString());
    }

    [Test]
    public async Task KestrelDecodesEveryRequestAfterTheSwitch()
    {
        await using var server = await TestServer.StartAsync(rewrite: true);
        await using var client = await RawClient.ConnectAsync(server.SocketPath);
        await client.SendAsync(Concat(Preface, SettingsFrame()));

        // Before the switch, passed unchanged; both tables: [x-custom a, :authority localhost:1].
        await client.SendAsync(Get(1, new TestHpackBlock().Incremental(1, "localhost:1").Incremental("x-custom", "a", huffman: true)));
        var response = await client.ReadResponseAsync(1);
        Assert.That((response.Status, response.Header("x-host"), response.Header("x-custom")), Is.EqualTo(("200", "localhost:1", "a")));

        // The switch. Client table: [x-other b, sock, x-custom a, localhost:1]; the server's stays as it was.
        await client.SendAsync(Get(3, new TestHpackBlock().Incremental(1, "/run/containerd/containerd.sock").Indexed(63)
            .Incremental("x-other", "b", huffman: true)));
        response = await client.ReadResponseAsync(3);
        Assert.That((response.Status, response.Header("x-host"), response.Header("x-custom"), response.Header("x-other")),
            Is.EqualTo(("200", "localhost", "a", "b")));

        // Indexes only the client's table resolves correctly.
        await client.SendAsync(Get(5, new TestHpackBlock().Indexed(63).Indexed(64).Indexed(62)));
        response = await client.ReadResponseAsync(5);
        Assert.That((response.Status, response.Header("x-host"), response.Header("x-custom"), response.Header("x-other")),
            Is.EqualTo(("200", "localhost", "a", "b")));

        // A table size update evicting everything but the newest entry, then new insertions.
        await client.SendAsync(HeadersFrame(7, new TestHpackBlock().SizeUpdate(40).Indexed(2).Indexed(6).Indexed(4)
            .WithoutIndexing(1, "localhost:7").Indexed(62).ToArray()));
        response = await client.ReadResponseAsync(7);
        Assert.That((response.Status, response.Header("x-host"), response.Header("x-other")), Is.EqualTo(("200", "localhost:7", "b")), response.ToString());

        await client.SendAsync(HeadersFrame(9, new TestHpackBlock().SizeUpdate(4096).Indexed(2).Indexed(6).Indexed(4)
            .Incremental("x-custom", "c").Indexed(63).Incremental(1, "").ToArray(), endStream: false, endHeaders: false, priority: [0, 0, 0, 0, 1]));
        await client.SendAsync(DataFrame(9, [], endStream: true));
        response = await client.ReadResponseAsync(9);
        Assert.That(response.ResetCode, Is.EqualTo(CompressionError),
            "a malformed block after the switch is replaced by an undecodable one: GOAWAY COMPRESSION_ERROR");
    }

    [Test]
    public async Task ContinuationAndPaddingReachKestrel()
    {
        await using var server = await TestServer.StartAsync(rewrite: true);
        await using var client = await RawClient.ConnectAsync(server.SocketPath);
        var big = new string('X', 3000); // 'X' has an 8-bit Huffman code, so it is re-encoded plain
        var block = new TestHpackBlock().Indexed(2).Indexed(6).Indexed(4).Incremental(1, "/tmp/x.sock", huffman: true)
            .Incremental("x-custom", big).ToArray();
        await client.SendAsync(Concat(
            Preface,
            SettingsFrame(),
            HeadersFrame(1, block[..7], endStream: true, endHeaders: false, padLength: 9, priority: [0, 0, 0, 0, 5]),
            ContinuationFrame(1, block[7..1500], endHeaders: false),
            ContinuationFrame(1, block[1500..], endHeaders: true)));
        var response = await client.ReadResponseAsync(1);
        Assert.That((response.Status, response.Header("x-host"), response.Header("x-custom") == big), Is.EqualTo(("200", "localhost", true)), response.ToString());

        // Re-encoded to over 16 KiB: HEADERS + CONTINUATION again.
        await client.SendAsync(Get(3, new TestHpackBlock().Indexed(63).Indexed(62).Indexed(62).Indexed(62).Indexed(62).Indexed(62).Indexed(62)));
        response = await client.ReadResponseAsync(3);
        Assert.That((response.Status, response.Header("x-host"), response.Header("x-custom") == string.Join(",", Enumerable.Repeat(big, 6))),
            Is.EqualTo(("200", "localhost", true)), response.ToString());
    }

    private sealed class TestServer : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly DirectoryInfo _directory;

        private TestServer(WebApplication app, DirectoryInfo directory, string socketPath)
        {
            _app = app;
            _directory = directory;
            SocketPath = socketPath;
        }

        public string SocketPath { get; }

        public static async Task<TestServer> StartAsync(bool rewrite, ILogger? logger = null)
        {
            var directory = Directory.CreateTempSubdirectory("h2authority-");
            var socketPath = Path.Combine(directory.FullName, "server.sock");
            var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
            builder.WebHost.UseKestrelCore().ConfigureKestrel(options =>
            {
                options.Limits.MaxRequestHeadersTotalSize = 64 * 1024;
                options.Limits.Http2.MaxRequestHeaderFieldSize = 64 * 1024;
                options.ListenUnixSocket(socketPath, listen =>
                {
                    listen.Protocols = HttpProtocols.Http2;
                    if (rewrite)
                    {
                        listen.UseAuthorityRewrite(logger);
                    }
                });
            });
            var app = builder.Build();
            app.Run(async context =>
            {
                context.Response.Headers["x-host"] = context.Request.Host.Value;
                context.Response.Headers["x-custom"] = context.Request.Headers["x-custom"].ToString();
                context.Response.Headers["x-other"] = context.Request.Headers["x-other"].ToString();
                await context.Response.WriteAsync("ok");
            });
            await app.StartAsync();
            return new TestServer(app, directory, socketPath);
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            _directory.Delete(recursive: true);
        }
    }

    private sealed class RawClient : IAsyncDisposable
    {
        private readonly Socket _socket;
        private readonly NetworkStream _stream;
        private readonly ReferenceHpackDecoder _responseDecoder = new();
        private readonly List<byte> _received = [];
        private readonly List<byte> _pendingBlock = [];
        private int _pendingStream;

        private RawClient(Socket socket)
        {
            _socket = socket;
            _stream = new NetworkStream(socket, ownsSocket: true);
        }

        public static async Task<RawClient> ConnectAsync(string path)
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path));
            return new RawClient(socket);
        }

        public async Task SendAsync(byte[] bytes) => await _stream.WriteAsync(bytes);

        /// <summary>Reads frames until stream <paramref name="streamId"/> gets response headers, a reset or the connection ends.</summary>
        public async Task<Response> ReadResponseAsync(int streamId)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            var response = new Response();
            var buffer = new byte[65536];
            while (true)
            {
                while (TryTakeFrame(out var frame))
                {
                    response.Frames.Add($"{frame.Type}/{frame.Flags:x}/{frame.StreamId}/{frame.Payload.Length}");
                    if (frame.Type == Settings && (frame.Flags & Ack) == 0)
                    {
                        await SendAsync(SettingsAck());
                    }
                    else if (frame.Type == RstStream && frame.StreamId == streamId)
                    {
                        response.ResetCode = (frame.Payload[0] << 24) | (frame.Payload[1] << 16) | (frame.Payload[2] << 8) | frame.Payload[3];
                        return response;
                    }
                    else if (frame.Type == GoAway)
                    {
                        response.ResetCode = (frame.Payload[4] << 24) | (frame.Payload[5] << 16) | (frame.Payload[6] << 8) | frame.Payload[7];
                        return response;
                    }
                    else if (frame.Type is Headers or Continuation)
                    {
                        if (frame.Type == Headers)
                        {
                            _pendingBlock.Clear();
                            _pendingStream = frame.StreamId;
                        }

                        _pendingBlock.AddRange(frame.Payload); // Kestrel sends neither padding nor priority
                        if ((frame.Flags & EndHeaders) != 0)
                        {
                            var fields = _responseDecoder.Decode([.. _pendingBlock]);
                            if (_pendingStream == streamId)
                            {
                                response.Fields.AddRange(fields);
                                return response;
                            }
                        }
                    }
                }

                var read = await _stream.ReadAsync(buffer, timeout.Token);
                if (read == 0)
                {
                    response.Frames.Add("EOF");
                    return response;
                }

                _received.AddRange(buffer.AsSpan(0, read));
            }
        }

        private bool TryTakeFrame(out ParsedFrame frame)
        {
            frame = null!;
            if (_received.Count < 9)
            {
                return false;
            }

            var length = (_received[0] << 16) | (_received[1] << 8) | _received[2];
            if (_received.Count < 9 + length)
            {
                return false;
            }

            frame = Parse([.. _received.GetRange(0, 9 + length)], preface: false)[0];
            _received.RemoveRange(0, 9 + length);
            return true;
        }

        public async ValueTask DisposeAsync()
        {
            await _stream.DisposeAsync();
            _socket.Dispose();
        }
    }

    private sealed class Response
    {
        public List<(string Name, string Value)> Fields { get; } = [];

        public List<string> Frames { get; } = [];

        public int? ResetCode { get; set; }

        public string? Status => Header(":status");

        public string? Header(string name) => Fields.Where(f => f.Name == name).Select(f => f.Value).FirstOrDefault();

        public override string ToString() =>
            $"reset={ResetCode?.ToString() ?? "-"} fields=[{string.Join(", ", Fields.Select(f => f.Name + ": " + (f.Value.Length > 40 ? f.Value[..40] + "..." : f.Value)))}] frames=[{string.Join(" ", Frames)}]";
    }

    private sealed class ListLogger : ILogger
    {
        public List<string> Messages { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Messages)
            {
                Messages.Add(formatter(state, exception));
            }
        }
    }
}
