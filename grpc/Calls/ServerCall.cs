using System.Buffers.Binary;
using Containerd.LeanGrpc.Nghttp2;
using Containerd.LeanGrpc.Transport;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Containerd.LeanGrpc.Calls;

/// <summary>
/// One gRPC call on one HTTP/2 stream, and the handler's ServerCallContext (one
/// object per call: the shim is idle most of its life, but each call should
/// cost little). The receive side runs on the server's loop thread only; the
/// handler runs on the thread pool and hands its output over under a lock,
/// then asks the loop to flush.
/// </summary>
internal sealed class ServerCall : ServerCallContext, IThreadPoolWorkItem
{
    private const int NotCancelled = 0;
    private const int CancelledByPeer = 1;
    private const int CancelledByServerStop = 2;

    private readonly Connection _connection;
    private readonly object _gate = new();

    // Receive side (loop thread).
    private string _path = "";
    private string _authority = "";
    private TimeSpan? _timeout;
    private Metadata? _requestHeaders;
    private bool _headersDone;
    private ServerMethod? _method;
    private readonly byte[] _prefix = new byte[GrpcProtocol.PrefixLength];
    private int _prefixFilled;
    private byte[]? _message;
    private int _messageFilled;
    private int _messages;
    private bool _dispatched;
    private CancellationTokenSource? _cts;
    private int _cancelReason;
    private DateTime _deadline = DateTime.MaxValue;

    // Send side (under _gate).
    private readonly Queue<Chunk> _output = new();
    private int _outputOffset;
    private Status? _final;
    private Metadata? _finalTrailers;
    private bool _responseStarted;
    private bool _trailersSent;
    private bool _streamClosed;
    private int _flushQueued;
    private Metadata? _responseTrailers;
    private Status _status;
    private WriteOptions? _writeOptions;

    public ServerCall(Connection connection, int streamId)
    {
        _connection = connection;
        StreamId = streamId;
    }

    public int StreamId { get; }

    // ---- ServerCallContext ----

    protected override string MethodCore => _path;
    protected override string HostCore => _authority;
    protected override string PeerCore => "unix:" + _connection.Server.SocketPath;
    protected override DateTime DeadlineCore => _deadline;
    protected override Metadata RequestHeadersCore => _requestHeaders ??= [];
    protected override CancellationToken CancellationTokenCore => _cts?.Token ?? CancellationToken.None;
    protected override Metadata ResponseTrailersCore => _responseTrailers ??= [];
    protected override Status StatusCore { get => _status; set => _status = value; }
    protected override WriteOptions? WriteOptionsCore { get => _writeOptions; set => _writeOptions = value; }
    protected override AuthContext AuthContextCore => new(null, new Dictionary<string, List<AuthProperty>>());

    protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) =>
        throw new NotSupportedException("context propagation is not supported by this server");

    protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) =>
        // Response headers carry nothing the shim's clients read; they go out with the first message.
        Task.CompletedTask;

    // ---- receive side, loop thread ----

    public void OnHeader(string name, string value)
    {
        if (_headersDone)
            return; // the request's trailers: nothing in them matters
        switch (name)
        {
            case ":path":
                _path = value;
                return;
            case ":authority":
                _authority = value;
                return;
            case "grpc-timeout":
                _timeout = GrpcProtocol.ParseTimeout(value);
                return;
            case "te" or "content-type" or "grpc-encoding" or "grpc-accept-encoding":
                return;
        }
        if (name.StartsWith(':'))
            return;
        var headers = _requestHeaders ??= [];
        if (name.EndsWith(Metadata.BinaryHeaderSuffix, StringComparison.Ordinal))
        {
            try
            {
                headers.Add(name, Convert.FromBase64String(PadBase64(value)));
            }
            catch (FormatException)
            {
                // A malformed binary header is dropped, not fatal.
            }
        }
        else
        {
            headers.Add(name, value);
        }
    }

    private static string PadBase64(string value) => (value.Length % 4) switch
    {
        2 => value + "==",
        3 => value + "=",
        _ => value,
    };

    public void OnHeadersComplete()
    {
        if (_headersDone)
            return;
        _headersDone = true;
        _cts = new CancellationTokenSource();
        _method = _connection.Server.Methods.Find(_path);
        if (_method is null)
        {
            Fail(new Status(StatusCode.Unimplemented, $"Method not found: {_path}"), null);
            return;
        }
        if (_timeout is { } timeout)
        {
            _deadline = DateTime.UtcNow + timeout;
            _cts.Token.UnsafeRegister(static state => ((ServerCall)state!).OnCancelled(), this);
            _cts.CancelAfter(timeout <= TimeSpan.Zero ? TimeSpan.Zero : timeout);
        }
    }

    public void OnData(ReadOnlySpan<byte> data)
    {
        while (data.Length > 0 && !IsFinished)
        {
            if (_prefixFilled < GrpcProtocol.PrefixLength)
            {
                var take = Math.Min(GrpcProtocol.PrefixLength - _prefixFilled, data.Length);
                data[..take].CopyTo(_prefix.AsSpan(_prefixFilled));
                _prefixFilled += take;
                data = data[take..];
                if (_prefixFilled < GrpcProtocol.PrefixLength)
                    return;
                if (!StartMessage())
                    return;
                continue;
            }
            var copy = Math.Min(_message!.Length - _messageFilled, data.Length);
            data[..copy].CopyTo(_message.AsSpan(_messageFilled));
            _messageFilled += copy;
            data = data[copy..];
            if (_messageFilled == _message.Length)
                EndMessage();
        }
    }

    private bool StartMessage()
    {
        if (_prefix[0] != 0)
        {
            Fail(new Status(StatusCode.Unimplemented, "compression not supported"), null);
            return false;
        }
        var length = BinaryPrimitives.ReadUInt32BigEndian(_prefix.AsSpan(1));
        if (length > GrpcProtocol.MaxReceiveMessageSize)
        {
            Fail(new Status(StatusCode.ResourceExhausted,
                $"Received message exceeds the maximum configured message size ({length} > {GrpcProtocol.MaxReceiveMessageSize})."), null);
            return false;
        }
        if (_messages > 0)
        {
            Fail(new Status(StatusCode.Internal, "Additional data after the message received."), null);
            return false;
        }
        _message = length == 0 ? [] : new byte[length];
        _messageFilled = 0;
        if (length == 0)
            EndMessage();
        return true;
    }

    private void EndMessage()
    {
        _messages++;
        _prefixFilled = 0;
    }

    /// <summary>The client half-closed: with its one message in, the handler runs.</summary>
    public void OnRequestComplete()
    {
        if (_dispatched || IsFinished || _method is null)
            return;
        _dispatched = true;
        var logger = _connection.Server.Logger;
        if (logger.IsEnabled(LogLevel.Trace))
            logger.LogTrace("stream {Stream}: {Method} dispatched", StreamId, _path);
        if (_messages != 1 || _prefixFilled != 0)
        {
            Fail(new Status(StatusCode.Internal, "Request message not received."), null);
            return;
        }
        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
    }

    /// <summary>
    /// The stream is gone (both sides done, reset by the peer, or the connection
    /// lost). If the call had not sent its status, the client gave up on it.
    /// </summary>
    public void OnStreamClosed()
    {
        var logger = _connection.Server.Logger;
        if (logger.IsEnabled(LogLevel.Trace))
            logger.LogTrace("stream {Stream}: {Method} closed (status sent: {Sent})", StreamId, _path, _trailersSent);
        List<TaskCompletionSource>? abandoned = null;
        bool cancel;
        lock (_gate)
        {
            _streamClosed = true;
            cancel = !_trailersSent;
            while (_output.TryDequeue(out var chunk))
            {
                if (chunk.Written is not null)
                    (abandoned ??= []).Add(chunk.Written);
            }
        }
        if (cancel)
            Cancel(CancelledByPeer);
        if (abandoned is not null)
        {
            foreach (var written in abandoned)
                written.TrySetException(new OperationCanceledException("the call was cancelled"));
        }
    }

    /// <summary>The server stops and its grace period is over.</summary>
    public void CancelForStop()
    {
        Cancel(CancelledByServerStop);
        Fail(new Status(StatusCode.Unavailable, "the server is shutting down"), null);
    }

    private void Cancel(int reason)
    {
        if (_cts is null || Interlocked.CompareExchange(ref _cancelReason, reason, NotCancelled) != NotCancelled)
            return;
        // Never on the loop thread: the token's callbacks are the handler's code.
        ThreadPool.UnsafeQueueUserWorkItem(static cts => cts.Cancel(), _cts, preferLocal: false);
    }

    /// <summary>The deadline's timer fired (or a cancellation was requested, then this does nothing).</summary>
    private void OnCancelled()
    {
        if (Interlocked.CompareExchange(ref _cancelReason, NotCancelled, NotCancelled) == NotCancelled)
            Fail(new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded"), null);
    }

    // ---- handler side, thread pool ----

    void IThreadPoolWorkItem.Execute() => _ = RunAsync();

    private async Task RunAsync()
    {
        try
        {
            await _method!.HandleAsync(this, _message!).ConfigureAwait(false);
        }
        catch (RpcException e)
        {
            Fail(e.Status, e.Trailers);
        }
        catch (OperationCanceledException) when (_cts!.IsCancellationRequested)
        {
            // The token also fires for the deadline, and the handler may see it before
            // OnCancelled runs: a cancellation with no reason recorded (Cancel records
            // it before it cancels) is the deadline.
            Fail(Volatile.Read(ref _cancelReason) == NotCancelled
                ? new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded")
                : new Status(StatusCode.Cancelled, "Call canceled by the client."), null);
        }
        catch (Exception e)
        {
            _connection.Server.Logger.LogError(e, "{Method} failed", _path);
            Fail(new Status(StatusCode.Unknown, "Exception was thrown by handler."), null);
        }
        finally
        {
            _message = null;
            // A deadline far away must not keep a timer (and this call) alive.
            if (_timeout is not null)
                _cts!.CancelAfter(Timeout.InfiniteTimeSpan);
        }
    }

    private bool IsFinished
    {
        get
        {
            lock (_gate)
                return _final is not null;
        }
    }

    /// <summary>Ends a successful handler: its last message (unary) and the status it set.</summary>
    public void Complete(byte[]? framed, int length)
    {
        lock (_gate)
        {
            if (_final is not null || _streamClosed)
                return;
            if (framed is not null)
                _output.Enqueue(new Chunk(framed, length, null));
            _final = _status;
            _finalTrailers = _responseTrailers;
        }
        RequestFlush();
    }

    /// <summary>Ends the call with a status (an error, a deadline, ...); later outcomes are ignored.</summary>
    public void Fail(Status status, Metadata? trailers)
    {
        lock (_gate)
        {
            if (_final is not null || _streamClosed)
                return;
            _final = status;
            if (_responseTrailers is { Count: > 0 })
            {
                trailers ??= [];
                foreach (var entry in _responseTrailers)
                    trailers.Add(entry);
            }
            _finalTrailers = trailers;
        }
        RequestFlush();
    }

    public Task WriteAsync(byte[] framed, int length, CancellationToken cancellationToken)
    {
        var written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            if (_streamClosed || _final is not null)
            {
                if (_cts is { IsCancellationRequested: true })
                    return Task.FromCanceled(_cts.Token);
                throw new InvalidOperationException("the call is already complete");
            }
            _output.Enqueue(new Chunk(framed, length, written));
        }
        RequestFlush();
        if (!cancellationToken.CanBeCanceled)
            return written.Task;
        return WaitAsync(written.Task, cancellationToken);
    }

    private static async Task WaitAsync(Task written, CancellationToken cancellationToken) =>
        await written.WaitAsync(cancellationToken).ConfigureAwait(false);

    private void RequestFlush()
    {
        var logger = _connection.Server.Logger;
        if (logger.IsEnabled(LogLevel.Trace))
            logger.LogTrace("stream {Stream}: {Method} flush requested ({Queued})", StreamId, _path, _flushQueued);
        if (Interlocked.Exchange(ref _flushQueued, 1) == 0)
            _connection.Server.Post(this);
    }

    // ---- send side, loop thread ----

    /// <summary>Hands what the handler produced to nghttp2: response headers, a resume of the data, or a trailers-only answer.</summary>
    public unsafe void Flush()
    {
        Volatile.Write(ref _flushQueued, 0);
        var session = _connection.Session;
        lock (_gate)
        {
            if (_streamClosed || _trailersSent || session == 0)
                return;
            if (_responseStarted)
            {
                Native.SessionResumeData(session, StreamId);
                return;
            }
            if (_output.Count == 0 && _final is not { } final)
                return;
            var headers = new HeaderList();
            headers.Add(":status", "200");
            headers.Add("content-type", "application/grpc");
            _responseStarted = true;
            if (_output.Count == 0)
            {
                // Trailers-only: one HEADERS frame with END_STREAM.
                AddStatus(headers, _final!.Value, _finalTrailers);
                _trailersSent = true;
                Submit(session, headers, null);
                return;
            }
            var provider = new Native.DataProvider { Source = 0, Read = &Connection.ReadData };
            Submit(session, headers, &provider);
        }
    }

    /// <summary>nghttp2 wants DATA for this stream (loop thread, inside nghttp2_session_send).</summary>
    public unsafe nint ReadData(nint session, byte* buffer, nuint capacity, uint* flags)
    {
        TaskCompletionSource? written = null;
        nint copied;
        lock (_gate)
        {
            if (_output.TryPeek(out var chunk))
            {
                var take = Math.Min((int)Math.Min(capacity, int.MaxValue), chunk.Length - _outputOffset);
                chunk.Data.AsSpan(_outputOffset, take).CopyTo(new Span<byte>(buffer, take));
                _outputOffset += take;
                if (_outputOffset == chunk.Length)
                {
                    _output.Dequeue();
                    _outputOffset = 0;
                    written = chunk.Written;
                }
                copied = take;
            }
            else if (_final is { } final)
            {
                var trailers = new HeaderList();
                AddStatus(trailers, final, _finalTrailers);
                *flags |= Native.DataFlagEof | Native.DataFlagNoEndStream;
                _trailersSent = true;
                var nv = trailers.Build();
                Native.SubmitTrailer(session, StreamId, nv, (nuint)trailers.Count);
                HeaderList.Free(nv);
                copied = 0;
            }
            else
            {
                copied = Native.ErrDeferred;
            }
        }
        written?.TrySetResult();
        return copied;
    }

    private unsafe void Submit(nint session, HeaderList headers, Native.DataProvider* provider)
    {
        var nv = headers.Build();
        Native.SubmitResponse(session, StreamId, nv, (nuint)headers.Count, provider);
        HeaderList.Free(nv);
    }

    private static void AddStatus(HeaderList headers, Status status, Metadata? trailers)
    {
        headers.Add("grpc-status", ((int)status.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (!string.IsNullOrEmpty(status.Detail))
            headers.Add("grpc-message", GrpcProtocol.EncodeMessage(status.Detail));
        if (trailers is null)
            return;
        foreach (var entry in trailers)
        {
            headers.Add(entry.Key, entry.IsBinary ? Convert.ToBase64String(entry.ValueBytes) : entry.Value);
        }
    }

    private readonly record struct Chunk(byte[] Data, int Length, TaskCompletionSource? Written);
}
