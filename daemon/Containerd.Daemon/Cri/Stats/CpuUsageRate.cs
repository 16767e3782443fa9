namespace Containerd.Daemon.Cri.Stats;

/// <summary>
/// CPU usage as a rate (CRI usage_nano_cores): the CPU time used between two
/// samples over the wall time between them, kept per container (or sandbox)
/// id as containerd keeps the previous sample with each container.
/// Thread-safe; callers <see cref="Forget"/> an id when its container goes.
/// </summary>
public sealed class CpuUsageRate
{
    private readonly object _gate = new();
    private readonly Dictionary<string, (long TimestampNs, ulong UsageNs)> _previous = new(StringComparer.Ordinal);

    /// <summary>
    /// Records a sample and returns the rate since the previous one in
    /// nanocores (1e9 = one CPU busy). The first sample of an id gives 0, as
    /// containerd does; so does a sample not later than the previous one (kept
    /// out of the cache), and a counter that went backwards (a new cgroup under the
    /// same id: the sample becomes the new reference).
    /// </summary>
    public ulong Update(string id, long timestampNs, ulong usageNs)
    {
        lock (_gate)
        {
            if (!_previous.TryGetValue(id, out var previous))
            {
                _previous[id] = (timestampNs, usageNs);
                return 0;
            }
            var interval = timestampNs - previous.TimestampNs;
            if (interval <= 0)
                return 0;
            _previous[id] = (timestampNs, usageNs);
            return usageNs < previous.UsageNs ? 0 : Rate(usageNs - previous.UsageNs, interval);
        }
    }

    /// <summary>Drops an id's previous sample (its container was removed).</summary>
    public void Forget(string id)
    {
        lock (_gate)
            _previous.Remove(id);
    }

    /// <summary>Δusage / Δt × 1e9, both in nanoseconds.</summary>
    public static ulong Rate(ulong usageDeltaNs, long intervalNs) =>
        intervalNs <= 0 ? 0 : (ulong)(usageDeltaNs / (double)intervalNs * 1e9);
}
