using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.Extensions.Logging;

namespace Containerd.Http2;

/// <summary>
/// Wraps a connection's transport: <see cref="Input"/> is the client's byte stream run through an
/// <see cref="Http2AuthorityRewriter"/>, <see cref="Output"/> is the original output.
/// A pump task copies from the original input into a pipe; the pipe's reader continuations run inline
/// on the pump, so the server's frame loop runs where it would have run without the wrapper.
/// </summary>
public sealed class AuthorityRewritingTransport : IDuplexPipe, IAsyncDisposable
{
    private readonly IDuplexPipe _inner;
    private readonly Pipe _pipe;
    private readonly Http2AuthorityRewriter _rewriter;
    private readonly Task _pump;
    private volatile bool _stopping;

    public AuthorityRewritingTransport(IDuplexPipe inner, Http2AuthorityRewriter rewriter, MemoryPool<byte>? pool = null)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(rewriter);
        _inner = inner;
        _rewriter = rewriter;
        _pipe = new Pipe(new PipeOptions(
            pool: pool,
            readerScheduler: PipeScheduler.Inline,
            writerScheduler: PipeScheduler.ThreadPool,
            pauseWriterThreshold: 1024 * 1024,
            resumeWriterThreshold: 512 * 1024,
            useSynchronizationContext: false));
        _pump = Task.Run(PumpAsync);
    }

    public PipeReader Input => _pipe.Reader;

    public PipeWriter Output => _inner.Output;

    /// <summary>The rewriter's state (for diagnostics).</summary>
    public Http2AuthorityRewriter Rewriter => _rewriter;

    /// <summary>Wraps <paramref name="connection"/>'s current transport.</summary>
    public static AuthorityRewritingTransport Create(ConnectionContext connection, Http2AuthorityRewriterOptions options, ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var pool = connection.Features.Get<IMemoryPoolFeature>()?.MemoryPool;
        return new AuthorityRewritingTransport(connection.Transport, new Http2AuthorityRewriter(options, logger, connection.ConnectionId), pool);
    }

    /// <summary>Stops the pump (once the server is done with the connection) and completes the original input.</summary>
    public async ValueTask DisposeAsync()
    {
        _stopping = true;
        if (!_pump.IsCompleted)
        {
            try
            {
                _inner.Input.CancelPendingRead();
            }
            catch (InvalidOperationException)
            {
                // The pump completed the reader meanwhile.
            }
        }

        await _pipe.Reader.CompleteAsync().ConfigureAwait(false);
        await _pump.ConfigureAwait(false);
    }

    private async Task PumpAsync()
    {
        var input = _inner.Input;
        var writer = _pipe.Writer;
        Exception? error = null;
        try
        {
            while (!_stopping)
            {
                var result = await input.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                SequencePosition consumed;
                try
                {
                    consumed = _rewriter.Process(buffer, writer, result.IsCompleted);
                }
                catch
                {
                    input.AdvanceTo(buffer.Start);
                    throw;
                }

                input.AdvanceTo(consumed, buffer.End);
                var flush = await writer.FlushAsync().ConfigureAwait(false);
                if (result.IsCompleted || flush.IsCompleted || (result.IsCanceled && _stopping))
                {
                    break;
                }
            }
        }
        catch (Exception ex)
        {
            error = ex;
        }
        finally
        {
            await writer.CompleteAsync(error).ConfigureAwait(false);
            await input.CompleteAsync().ConfigureAwait(false);
        }
    }
}
