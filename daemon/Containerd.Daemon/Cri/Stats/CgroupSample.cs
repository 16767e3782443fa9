namespace Containerd.Daemon.Cri.Stats;

/// <summary>
/// What one reading of a cgroup found. Every figure is null when its file was
/// missing or unreadable (a container that just exited, a controller that is
/// not mounted), so a caller can tell "unknown" from zero.
/// </summary>
/// <param name="TimestampNs">When the files were read, in nanoseconds since the Unix epoch.</param>
/// <param name="CpuUsageNs">Cumulative CPU time (v1 cpuacct.usage; v2 cpu.stat usage_usec × 1000).</param>
/// <param name="MemoryUsageBytes">v1 memory.usage_in_bytes; v2 memory.current.</param>
/// <param name="WorkingSetBytes">Usage minus inactive file pages (v1 total_inactive_file, v2 inactive_file), floored at 0, as cadvisor and containerd compute it.</param>
/// <param name="RssBytes">v1 total_rss; v2 anon.</param>
/// <param name="PageFaults">pgfault (v1: total_pgfault, the hierarchy's).</param>
/// <param name="MajorPageFaults">pgmajfault (v1: total_pgmajfault).</param>
/// <param name="MemoryLimitBytes">The memory limit; null when unlimited (or unknown).</param>
/// <param name="AvailableBytes">Limit minus working set (floored at 0) when limited; null when unlimited.</param>
/// <param name="ProcessCount">pids.current, or the lines of cgroup.procs without a pids controller.</param>
public sealed record CgroupSample(
    long TimestampNs,
    ulong? CpuUsageNs,
    ulong? MemoryUsageBytes,
    ulong? WorkingSetBytes,
    ulong? RssBytes,
    ulong? PageFaults,
    ulong? MajorPageFaults,
    ulong? MemoryLimitBytes,
    ulong? AvailableBytes,
    ulong? ProcessCount);
