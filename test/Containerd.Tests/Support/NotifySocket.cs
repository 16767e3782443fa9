using System.Net.Sockets;
using System.Text;

namespace Containerd.Tests.Support;

/// <summary>
/// A unix datagram socket standing in for systemd's $NOTIFY_SOCKET: records every
/// sd_notify message (READY=1, STOPPING=1, ...) with the time it arrived.
/// </summary>
public sealed class NotifySocket : IDisposable
{
    private readonly Socket _socket;
    private readonly List<(string Message, DateTime At)> _received = [];
    private readonly Task _pump;

    // Completed (and replaced) under the lock of _received each time a datagram arrives.
    private TaskCompletionSource _arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public NotifySocket(string path)
    {
        Path_ = path;
        File.Delete(path);
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        _socket.Bind(new UnixDomainSocketEndPoint(path));
        _pump = Task.Run(ReceiveAsync);
    }

    public string Path_ { get; }

    /// <summary>Every message so far, one entry per assignment line (a datagram may carry several).</summary>
    public IReadOnlyList<(string Message, DateTime At)> Received
    {
        get
        {
            lock (_received)
                return _received.ToList();
        }
    }

    /// <summary>The time <paramref name="message"/> arrived: at once if it has, else as soon as it does.</summary>
    public async Task<DateTime> WaitForAsync(string message, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            Task arrived;
            lock (_received)
            {
                foreach (var (text, at) in _received)
                {
                    if (text == message)
                        return at;
                }
                arrived = _arrived.Task;
            }
            var left = deadline - DateTime.UtcNow;
            try
            {
                await arrived.WaitAsync(left > TimeSpan.Zero ? left : TimeSpan.Zero, cancellationToken);
            }
            catch (TimeoutException)
            {
                throw new TimeoutException($"no {message} on {Path_} within {timeout.TotalSeconds} s; got: {string.Join(", ", Received.Select(r => r.Message))}");
            }
        }
    }

    private async Task ReceiveAsync()
    {
        var buffer = new byte[4096];
        while (true)
        {
            int n;
            try
            {
                n = await _socket.ReceiveAsync(buffer, SocketFlags.None);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }
            var now = DateTime.UtcNow;
            lock (_received)
            {
                foreach (var line in Encoding.UTF8.GetString(buffer, 0, n).Split('\n', StringSplitOptions.RemoveEmptyEntries))
                    _received.Add((line, now));
                // Wakes every waiter to look again; later ones wait on the next datagram.
                _arrived.TrySetResult();
                _arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }

    public void Dispose()
    {
        _socket.Dispose();
        _pump.Wait(TimeSpan.FromSeconds(2));
        File.Delete(Path_);
    }
}
