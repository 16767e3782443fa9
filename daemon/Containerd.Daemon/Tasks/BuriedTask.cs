using Containerd.Api.Shim;

namespace Containerd.Daemon.Tasks;

/// <summary>What <see cref="TombstoneFile"/> keeps of a stopped task: enough to answer for it after a restart.</summary>
public sealed record BuriedTask(uint InitPid, Stdio Stdio, TaskTombstone Tombstone);
