namespace Containerd.Daemon.Images;

/// <summary>
/// Keeps the garbage collector away from work that makes content or snapshots
/// before anything references them (a pull's blobs before its image record, an
/// unpack's extraction snapshot, a container's snapshot before its record):
/// such work holds a <see cref="UseAsync"/> lease; a collection runs only when
/// none is held, and new leases wait while it runs.
/// </summary>
public sealed class GcGate
{
    private readonly SemaphoreSlim _turnstile = new(1, 1);
    private int _users;

    public async Task<IDisposable> UseAsync(CancellationToken cancellationToken)
    {
        await _turnstile.WaitAsync(cancellationToken).ConfigureAwait(false);
        Interlocked.Increment(ref _users);
        _turnstile.Release();
        return new Lease(this);
    }

    /// <summary>Runs <paramref name="collect"/> with no lease held; new leases wait for it.</summary>
    public async Task<T> ExclusiveAsync<T>(Func<Task<T>> collect, CancellationToken cancellationToken)
    {
        await _turnstile.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Leases are short next to a poll: a pull's, the longest, is its download.
            while (Volatile.Read(ref _users) > 0)
                await Task.Delay(50, cancellationToken).ConfigureAwait(false);
            return await collect().ConfigureAwait(false);
        }
        finally
        {
            _turnstile.Release();
        }
    }

    private sealed class Lease(GcGate gate) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
                Interlocked.Decrement(ref gate._users);
        }
    }
}
