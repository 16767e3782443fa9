using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Containerd.LeanGrpc.Calls;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Containerd.LeanGrpc.Transport;

/// <summary>
/// A gRPC server on a unix socket with one thread: the loop waits in poll(2)
/// on the listening socket, the connections and an eventfd, and does all
/// nghttp2 work. Handlers run on the thread pool; what they produce is queued
/// and the eventfd wakes the loop to hand it to nghttp2.
/// </summary>
public sealed unsafe class GrpcServer
{
    private const int ReadBufferSize = 32 * 1024;
    // After the grace period, cancelled calls get this long to send their status.
    private static readonly TimeSpan CancelledFlushTime = TimeSpan.FromMilliseconds(500);

    private readonly List<Connection> _connections = [];
    private readonly ConcurrentQueue<ServerCall> _flushes = new();
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Libc.PollFd[] _pollFds = new Libc.PollFd[8];
    private int _listenFd = -1;
    private int _wakeFd = -1;
    private int _wakePending;
    private Thread? _thread;
    // Set by StopAsync; read by the loop.
    private long _stopGraceTicks = -1;
    private long _stopStartedAt;
    private bool _stopping;
    private bool _callsCancelled;

    public GrpcServer(MethodRegistry methods, ILogger? logger = null)
    {
        Methods = methods;
        Logger = logger ?? NullLogger.Instance;
    }

    public string SocketPath { get; private set; } = "";

    internal MethodRegistry Methods { get; }

    internal ILogger Logger { get; }

    /// <summary>Binds <paramref name="socketPath"/> (under the caller's umask) and starts serving.</summary>
    public void Start(string socketPath)
    {
        if (_thread is not null)
            throw new InvalidOperationException("the server is already started");
        SocketPath = socketPath;
        _wakeFd = Libc.EventFd(0, Libc.EFD_NONBLOCK | Libc.EFD_CLOEXEC);
        if (_wakeFd < 0)
            throw new IOException($"eventfd: {Libc.ErrorText(Libc.LastError)}");
        try
        {
            _listenFd = Libc.ListenUnix(socketPath, 64);
        }
        catch
        {
            Libc.Close(_wakeFd);
            throw;
        }
        // A small stack: the loop's frames are shallow, and each thread's stack is resident memory.
        _thread = new Thread(Loop, 256 * 1024) { IsBackground = true, Name = "grpc-loop" };
        _thread.Start();
    }

    /// <summary>
    /// Stops accepting, sends GOAWAY, lets in-flight calls finish for up to
    /// <paramref name="grace"/>, then cancels what is left. Completes once every
    /// connection has sent what it had and is closed.
    /// </summary>
    public Task StopAsync(TimeSpan grace)
    {
        if (_thread is null)
            return Task.CompletedTask;
        if (Interlocked.CompareExchange(ref _stopGraceTicks, grace.Ticks, -1) == -1)
            Wake();
        return _stopped.Task;
    }

    /// <summary>Completes when the server has stopped.</summary>
    public Task Stopped => _stopped.Task;

    internal void Post(ServerCall call)
    {
        _flushes.Enqueue(call);
        Wake();
    }

    private void Wake()
    {
        if (Interlocked.Exchange(ref _wakePending, 1) != 0)
            return;
        ulong one = 1;
        Libc.Write(_wakeFd, (byte*)&one, 8);
    }

    private void Loop()
    {
        var buffer = (byte*)NativeMemory.Alloc(ReadBufferSize);
        try
        {
            while (true)
            {
                CheckStop();
                if (_stopping && _connections.Count == 0)
                    break;
                var count = PreparePoll();
                int ready;
                fixed (Libc.PollFd* fds = _pollFds)
                    ready = Libc.Poll(fds, (nuint)count, PollTimeout());
                if (ready < 0 && Libc.LastError != Libc.EINTR)
                    throw new IOException($"poll: {Libc.ErrorText(Libc.LastError)}");
                if (ready > 0)
                    HandleEvents(count, buffer);
                DrainFlushes();
                SendAll();
            }
        }
        catch (Exception e)
        {
            Logger.LogError(e, "gRPC server loop failed");
        }
        finally
        {
            foreach (var connection in _connections)
                connection.Close();
            _connections.Clear();
            if (_listenFd >= 0)
                Libc.Close(_listenFd);
            _listenFd = -1;
            NativeMemory.Free(buffer);
            _stopped.TrySetResult();
        }
    }

    private int PreparePoll()
    {
        var needed = _connections.Count + 2;
        if (_pollFds.Length < needed)
            _pollFds = new Libc.PollFd[needed * 2];
        _pollFds[0] = new Libc.PollFd { Fd = _wakeFd, Events = Libc.POLLIN };
        // A stopped listener stays in the set as -1, which poll ignores, so indexes stay fixed.
        _pollFds[1] = new Libc.PollFd { Fd = _listenFd, Events = Libc.POLLIN };
        for (var i = 0; i < _connections.Count; i++)
        {
            var connection = _connections[i];
            _pollFds[i + 2] = new Libc.PollFd
            {
                Fd = connection.Fd,
                Events = (short)(Libc.POLLIN | (connection.WriteBlocked ? Libc.POLLOUT : 0)),
            };
        }
        return needed;
    }

    private int PollTimeout()
    {
        if (!_stopping)
            return -1;
        // While stopping, wake up in time for the next deadline (grace, then flush).
        var elapsed = TimeSpan.FromTicks(Environment.TickCount64 * TimeSpan.TicksPerMillisecond - _stopStartedAt);
        var deadline = TimeSpan.FromTicks(Volatile.Read(ref _stopGraceTicks)) + (_callsCancelled ? CancelledFlushTime : TimeSpan.Zero);
        return (int)Math.Clamp((deadline - elapsed).TotalMilliseconds + 1, 1, 1000);
    }

    private void HandleEvents(int count, byte* buffer)
    {
        if ((_pollFds[0].Revents & Libc.POLLIN) != 0)
        {
            // Read first, then re-arm, then drain (after this method): a post that
            // saw the flag still set is in the queue already and gets drained; one
            // that re-set it writes the eventfd again. Re-arming before the read
            // could swallow that write and leave the flag set with nobody to wake.
            ulong value;
            Libc.Read(_wakeFd, (byte*)&value, 8);
            Interlocked.Exchange(ref _wakePending, 0);
        }
        if (_listenFd >= 0 && (_pollFds[1].Revents & Libc.POLLIN) != 0)
            Accept();
        for (var i = 2; i < count; i++)
        {
            var revents = _pollFds[i].Revents;
            if (revents == 0)
                continue;
            var connection = _connections[i - 2];
            if ((revents & Libc.POLLOUT) != 0)
                connection.WriteBlocked = false;
            if ((revents & (Libc.POLLIN | Libc.POLLHUP | Libc.POLLERR)) != 0 && !connection.Receive(buffer, ReadBufferSize))
                connection.Close();
        }
    }

    private void Accept()
    {
        while (true)
        {
            var fd = Libc.Accept4(_listenFd, 0, 0, Libc.SOCK_NONBLOCK | Libc.SOCK_CLOEXEC);
            if (fd < 0)
                return;
            try
            {
                _connections.Add(new Connection(this, fd));
            }
            catch (Exception e)
            {
                Logger.LogError(e, "cannot serve a new connection");
                Libc.Close(fd);
            }
        }
    }

    private void DrainFlushes()
    {
        while (_flushes.TryDequeue(out var call))
            call.Flush();
    }

    private void SendAll()
    {
        for (var i = _connections.Count - 1; i >= 0; i--)
        {
            var connection = _connections[i];
            if (!connection.IsClosed && (!connection.Send() || connection.Finished))
                connection.Close();
            if (connection.IsClosed)
                _connections.RemoveAt(i);
        }
    }

    private void CheckStop()
    {
        var graceTicks = Volatile.Read(ref _stopGraceTicks);
        if (graceTicks < 0)
            return;
        var now = Environment.TickCount64 * TimeSpan.TicksPerMillisecond;
        if (!_stopping)
        {
            _stopping = true;
            _stopStartedAt = now;
            Libc.Close(_listenFd);
            _listenFd = -1;
            foreach (var connection in _connections)
                connection.GoAway();
            SendAll();
            return;
        }
        var elapsed = now - _stopStartedAt;
        if (!_callsCancelled && elapsed >= graceTicks)
        {
            _callsCancelled = true;
            foreach (var connection in _connections)
            {
                foreach (var call in connection.Calls)
                    call.CancelForStop();
            }
            return;
        }
        if (_callsCancelled && elapsed >= graceTicks + CancelledFlushTime.Ticks)
        {
            foreach (var connection in _connections)
                connection.Close();
            _connections.Clear();
        }
    }
}
