using System.Runtime.InteropServices;
using System.Text;
using Containerd.LeanGrpc.Calls;
using Containerd.LeanGrpc.Nghttp2;

namespace Containerd.LeanGrpc.Transport;

/// <summary>
/// One client connection: its socket, its nghttp2 session and its calls by
/// stream id. Used by the server's loop thread only (nghttp2 sessions are not
/// thread-safe); nghttp2 calls back into the static methods below, which find
/// the connection through the session's user data (a GCHandle).
/// </summary>
internal sealed unsafe class Connection
{
    private const int StreamWindow = 1 << 20;
    private const int ConnectionWindow = 4 << 20;
    private const uint MaxConcurrentStreams = 1000;

    private static readonly nint Callbacks = CreateCallbacks();
    private static readonly nint Options = CreateOptions();

    private readonly Dictionary<int, ServerCall> _calls = new();
    private GCHandle _self;
    private bool _failed;

    public Connection(GrpcServer server, int fd)
    {
        Server = server;
        Fd = fd;
        _self = GCHandle.Alloc(this);
        if (Native.SessionServerNew2(out var session, Callbacks, GCHandle.ToIntPtr(_self), Options) != 0)
        {
            _self.Free();
            throw new InvalidOperationException("nghttp2_session_server_new failed");
        }
        Session = session;
        // Larger windows than HTTP/2's 64 KiB let a 4 MB message through in a few round trips;
        // nghttp2 only grants them, it does not allocate them.
        var settings = stackalloc Native.SettingsEntry[2];
        settings[0] = new Native.SettingsEntry { Id = Native.SettingsMaxConcurrentStreams, Value = MaxConcurrentStreams };
        settings[1] = new Native.SettingsEntry { Id = Native.SettingsInitialWindowSize, Value = StreamWindow };
        Native.SubmitSettings(session, 0, settings, 2);
        Native.SessionSetLocalWindowSize(session, 0, 0, ConnectionWindow);
    }

    public GrpcServer Server { get; }

    public int Fd { get; private set; }

    public nint Session { get; private set; }

    /// <summary>The last write would have blocked: wait for POLLOUT before sending more.</summary>
    public bool WriteBlocked { get; set; }

    public bool IsClosed => Fd < 0;

    public int CallCount => _calls.Count;

    public IEnumerable<ServerCall> Calls => _calls.Values;

    /// <summary>Reads what the socket has and feeds it to nghttp2; false when the peer is gone or broke the protocol.</summary>
    public bool Receive(byte* buffer, int capacity)
    {
        while (true)
        {
            var read = Libc.Read(Fd, buffer, (nuint)capacity);
            if (read == 0)
                return false;
            if (read < 0)
            {
                var error = Libc.LastError;
                if (error == Libc.EINTR)
                    continue;
                return error == Libc.EAGAIN;
            }
            var taken = Native.SessionMemRecv(Session, buffer, (nuint)read);
            if (taken < 0 || _failed)
                return false;
            if (read < capacity)
                return true;
        }
    }

    /// <summary>Lets nghttp2 write what it has queued; false on a fatal error.</summary>
    public bool Send()
    {
        if (WriteBlocked)
            return true;
        return Native.SessionSend(Session) == 0 && !_failed;
    }

    /// <summary>Nothing left to read or write: after GOAWAY with no streams left, or the peer's GOAWAY.</summary>
    public bool Finished => Native.SessionWantRead(Session) == 0 && Native.SessionWantWrite(Session) == 0;

    public bool HasPendingOutput => Native.SessionWantWrite(Session) != 0;

    public void GoAway() =>
        Native.SubmitGoaway(Session, 0, Native.SessionGetLastProcStreamId(Session), Native.NoError, null, 0);

    /// <summary>Closes the socket; calls that had not finished see their token cancelled.</summary>
    public void Close()
    {
        if (Fd < 0)
            return;
        foreach (var call in _calls.Values)
            call.OnStreamClosed();
        _calls.Clear();
        Native.SessionDel(Session);
        Session = 0;
        Libc.Close(Fd);
        Fd = -1;
        _self.Free();
    }

    private static Connection From(nint userData) => (Connection)GCHandle.FromIntPtr(userData).Target!;

    private static nint CreateCallbacks()
    {
        if (Native.CallbacksNew(out var callbacks) != 0)
            throw new InvalidOperationException("nghttp2_session_callbacks_new failed");
        Native.SetSendCallback(callbacks, &OnSend);
        Native.SetOnBeginHeadersCallback(callbacks, &OnBeginHeaders);
        Native.SetOnHeaderCallback(callbacks, &OnHeader);
        Native.SetOnFrameRecvCallback(callbacks, &OnFrameRecv);
        Native.SetOnDataChunkRecvCallback(callbacks, &OnDataChunkRecv);
        Native.SetOnStreamCloseCallback(callbacks, &OnStreamClose);
        // One set for the process: sessions copy what they need at creation.
        return callbacks;
    }

    private static nint CreateOptions()
    {
        if (Native.OptionNew(out var option) != 0)
            throw new InvalidOperationException("nghttp2_option_new failed");
        // nghttp2's HTTP messaging checks reject an :authority that is a socket
        // path, which grpc-go sends when it dials one (the daemon rewrites it for
        // Kestrel). The gRPC layer checks what it needs (:path) itself.
        Native.OptionSetNoHttpMessaging(option, 1);
        return option;
    }

    [UnmanagedCallersOnly]
    private static nint OnSend(nint session, byte* data, nuint length, int flags, nint userData)
    {
        Connection connection;
        try
        {
            connection = From(userData);
        }
        catch (Exception)
        {
            return Native.ErrCallbackFailure;
        }
        while (true)
        {
            var sent = Libc.Send(connection.Fd, data, length, Libc.MSG_NOSIGNAL);
            if (sent >= 0)
                return sent;
            var error = Libc.LastError;
            if (error == Libc.EINTR)
                continue;
            if (error == Libc.EAGAIN)
            {
                connection.WriteBlocked = true;
                return Native.ErrWouldBlock;
            }
            connection._failed = true;
            return Native.ErrCallbackFailure;
        }
    }

    [UnmanagedCallersOnly]
    private static int OnBeginHeaders(nint session, Native.FrameHeader* frame, nint userData)
    {
        try
        {
            if (frame->Type != Native.FrameHeaders)
                return 0;
            var connection = From(userData);
            if (!connection._calls.ContainsKey(frame->StreamId))
                connection._calls[frame->StreamId] = new ServerCall(connection, frame->StreamId);
            return 0;
        }
        catch (Exception)
        {
            // An exception must not cross into C: the session fails instead.
            return Native.ErrCallbackFailure;
        }
    }

    [UnmanagedCallersOnly]
    private static int OnHeader(nint session, Native.FrameHeader* frame, byte* name, nuint nameLength, byte* value, nuint valueLength, byte flags, nint userData)
    {
        try
        {
            if (From(userData)._calls.TryGetValue(frame->StreamId, out var call))
            {
                call.OnHeader(
                    Encoding.ASCII.GetString(name, (int)nameLength),
                    Encoding.UTF8.GetString(value, (int)valueLength));
            }
            return 0;
        }
        catch (Exception)
        {
            return Native.ErrCallbackFailure;
        }
    }

    [UnmanagedCallersOnly]
    private static int OnFrameRecv(nint session, Native.FrameHeader* frame, nint userData)
    {
        try
        {
            if (frame->Type is not (Native.FrameHeaders or Native.FrameData))
                return 0;
            if (!From(userData)._calls.TryGetValue(frame->StreamId, out var call))
                return 0;
            if (frame->Type == Native.FrameHeaders)
                call.OnHeadersComplete();
            if ((frame->Flags & Native.FlagEndStream) != 0)
                call.OnRequestComplete();
            return 0;
        }
        catch (Exception)
        {
            return Native.ErrCallbackFailure;
        }
    }

    [UnmanagedCallersOnly]
    private static int OnDataChunkRecv(nint session, byte flags, int streamId, byte* data, nuint length, nint userData)
    {
        try
        {
            if (From(userData)._calls.TryGetValue(streamId, out var call))
                call.OnData(new ReadOnlySpan<byte>(data, (int)length));
            return 0;
        }
        catch (Exception)
        {
            return Native.ErrCallbackFailure;
        }
    }

    [UnmanagedCallersOnly]
    private static int OnStreamClose(nint session, int streamId, uint errorCode, nint userData)
    {
        try
        {
            var connection = From(userData);
            if (connection._calls.Remove(streamId, out var call))
                call.OnStreamClosed();
            return 0;
        }
        catch (Exception)
        {
            return Native.ErrCallbackFailure;
        }
    }

    /// <summary>nghttp2_data_source_read_callback for every response: the stream id finds the call.</summary>
    [UnmanagedCallersOnly]
    public static nint ReadData(nint session, int streamId, byte* buffer, nuint length, uint* flags, nint source, nint userData)
    {
        try
        {
            return From(userData)._calls.TryGetValue(streamId, out var call)
                ? call.ReadData(session, buffer, length, flags)
                : Native.ErrTemporalCallbackFailure;
        }
        catch (Exception)
        {
            return Native.ErrTemporalCallbackFailure;
        }
    }
}
