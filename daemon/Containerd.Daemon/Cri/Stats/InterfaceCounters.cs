namespace Containerd.Daemon.Cri.Stats;

/// <summary>One network interface's counters from <c>/proc/PID/net/dev</c>.</summary>
public sealed record InterfaceCounters(string Name, ulong RxBytes, ulong RxErrors, ulong TxBytes, ulong TxErrors);
