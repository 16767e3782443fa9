namespace Containerd.Daemon.Cri.Stats;

/// <summary>
/// The directories holding one cgroup's files on this host. On cgroup v2 all
/// of them are the one unified directory; on v1 each controller has its own
/// hierarchy, and a controller that is not mounted is null. A directory may
/// not exist (yet, or any more): readers treat its files as missing.
/// </summary>
/// <param name="Unified">cgroup v2: every file is in <see cref="Cpu"/> (= all the others).</param>
/// <param name="Cpu">v1: the cpu controller's directory (cpu.shares, cpu.cfs_*); v2: the cgroup.</param>
/// <param name="CpuAcct">v1: the cpuacct controller's directory (cpuacct.usage); v2: the cgroup.</param>
/// <param name="Memory">v1: the memory controller's directory; v2: the cgroup.</param>
/// <param name="Pids">v1: the pids controller's directory; v2: the cgroup.</param>
public sealed record CgroupPaths(bool Unified, string? Cpu, string? CpuAcct, string? Memory, string? Pids);
