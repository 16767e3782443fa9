namespace Containerd.Daemon.Containers;

/// <summary>
/// One async lock per (namespace, container id). Container deletion and task
/// creation/deletion take it, so that e.g. two concurrent Creates of one task,
/// or a container Delete racing a task Create, cannot interleave.
/// Entries are dropped when nobody holds or waits for them.
/// </summary>
public sealed class ContainerLocks
{
    private readonly Lock _gate = new();
    private readonly Dictionary<(string Namespace, string Id), Entry> _entries = [];

    public async Task<IDisposable> AcquireAsync(string @namespace, string id, CancellationToken cancellationToken)
    {
        var key = (@namespace, id);
        Entry entry;
        lock (_gate)
        {
            if (!_entries.TryGetValue(key, out entry!))
            {
                entry = new Entry();
                _entries[key] = entry;
            }
            entry.Users++;
        }
        try
        {
            await entry.Semaphore.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Leave(key, entry);
            throw;
        }
        return new Holder(this, key, entry);
    }

    private void Leave((string, string) key, Entry entry)
    {
        lock (_gate)
        {
            if (--entry.Users == 0)
                _entries.Remove(key);
        }
    }

    private sealed class Entry
    {
        public SemaphoreSlim Semaphore { get; } = new(1, 1);

        public int Users { get; set; }
    }

    private sealed class Holder(ContainerLocks owner, (string, string) key, Entry entry) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) != 0)
                return;
            entry.Semaphore.Release();
            owner.Leave(key, entry);
        }
    }
}
