namespace Containerd.Shim.Service;

/// <summary>
/// The shim's stop request: the Shutdown RPC or SIGTERM/SIGINT asks, the host
/// stops the server. The server's graceful stop waits for in-flight calls, so
/// the Shutdown reply still leaves before the socket closes.
/// </summary>
internal sealed class ShimLifetime
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _stopRequested = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Cancelled when the shim starts stopping: long-lived calls (the events stream) end.</summary>
    public CancellationToken Stopping => _stopping.Token;

    /// <summary>Completes once a stop has been asked for.</summary>
    public Task StopRequested => _stopRequested.Task;

    public void StopSoon()
    {
        if (!_stopRequested.TrySetResult())
            return;
        // Not on the caller's thread: the token's callbacks end other calls' handlers.
        ThreadPool.UnsafeQueueUserWorkItem(static cts => cts.Cancel(), _stopping, preferLocal: false);
    }
}
