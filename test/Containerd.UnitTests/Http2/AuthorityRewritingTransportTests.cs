using System.Buffers;
using System.IO.Pipelines;
using Containerd.Http2;
using static Containerd.UnitTests.Http2.TestFrames;

namespace Containerd.UnitTests.Http2;

public sealed class AuthorityRewritingTransportTests
{
    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }

    private static async Task<byte[]> ReadToEndAsync(PipeReader reader)
    {
        while (true)
        {
            var result = await reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            if (result.IsCompleted)
            {
                var bytes = result.Buffer.ToArray();
                reader.AdvanceTo(result.Buffer.End);
                return bytes;
            }

            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }

    [Test]
    public async Task RewritesTheInputAndPassesTheOutput()
    {
        var client = new Pipe();
        var server = new Pipe();
        await using var transport = new AuthorityRewritingTransport(new DuplexPipe(client.Reader, server.Writer), new Http2AuthorityRewriter());
        Assert.That(transport.Output, Is.SameAs(server.Writer));

        var request = HeadersFrame(1, new TestHpackBlock().Indexed(2).Indexed(6).Indexed(4).Incremental(1, "/tmp/x.sock", huffman: true).ToArray());
        foreach (var chunk in Concat(Preface, SettingsFrame(), request, PingFrame()).Chunk(5))
        {
            await client.Writer.WriteAsync(chunk);
        }

        await client.Writer.CompleteAsync();
        var output = await ReadToEndAsync(transport.Input);
        var server2 = new ReferenceHpackDecoder();
        Assert.That(server2.Decode([.. HeaderBlocks(Parse(output)).Single().Fragment]),
            Is.EqualTo(new[] { (":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "localhost") }));
        Assert.That(transport.Rewriter.IsReencoding, Is.True);
    }

    [Test]
    public async Task DisposeStopsThePumpWhileTheClientIsIdle()
    {
        var client = new Pipe();
        var server = new Pipe();
        var transport = new AuthorityRewritingTransport(new DuplexPipe(client.Reader, server.Writer), new Http2AuthorityRewriter());
        await client.Writer.WriteAsync(Preface);
        var result = await transport.Input.ReadAsync();
        Assert.That(result.Buffer.ToArray(), Is.EqualTo(Preface));
        transport.Input.AdvanceTo(result.Buffer.End);
        await transport.Input.CompleteAsync();

        await transport.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        // The original input was completed by the pump: the client side sees its reader gone.
        var flush = await client.Writer.WriteAsync(new byte[] { 1 });
        Assert.That(flush.IsCompleted, Is.True);
    }

    [Test]
    public async Task TransportErrorsReachTheServer()
    {
        var client = new Pipe();
        var server = new Pipe();
        await using var transport = new AuthorityRewritingTransport(new DuplexPipe(client.Reader, server.Writer), new Http2AuthorityRewriter());
        await client.Writer.CompleteAsync(new IOException("connection reset"));
        Assert.ThrowsAsync<IOException>(async () => await transport.Input.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
    }
}
