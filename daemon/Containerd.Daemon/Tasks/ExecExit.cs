using Google.Protobuf.WellKnownTypes;

namespace Containerd.Daemon.Tasks;

/// <summary>How an exec'd process of a task whose shim died ended, kept until DeleteProcess or Delete.</summary>
public sealed record ExecExit(uint Pid, uint ExitStatus, Timestamp ExitedAt);
