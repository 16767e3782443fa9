namespace Containerd.Shim.Process;

/// <summary>
/// One process's lock. Async because the work done under it runs runc; a
/// process's state only changes while it is held.
/// </summary>
internal sealed class ProcessLock
{
    private readonly SemaphoreSlim _semaphore = new(1, 1);

    public async Task<Releaser> EnterAsync(CancellationToken cancellationToken)
    {
        await _semaphore.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new Releaser(_semaphore);
    }

    public readonly struct Releaser(SemaphoreSlim semaphore) : IDisposable
    {
        public void Dispose() => semaphore.Release();
    }
}
