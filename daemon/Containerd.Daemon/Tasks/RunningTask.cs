using Containerd.Api.Shim;
using Containerd.Daemon.Shims;

namespace Containerd.Daemon.Tasks;

/// <summary>
/// A task the daemon manages: its shim connection and event pump, and the
/// init's stdio (which a restarted daemon learns from the shim). When the shim
/// dies, the task stays registered as a <see cref="Tombstone"/> (stopped, with
/// the init's exit) until Delete, so clients still learn how it ended.
/// </summary>
public sealed class RunningTask(string @namespace, string id, uint initPid, Stdio stdio, ShimConnection shim, EventPump events)
{
    private TaskTombstone? _tombstone;

    public string Namespace { get; } = @namespace;

    public string Id { get; } = id;

    public uint InitPid { get; } = initPid;

    public Stdio Stdio { get; } = stdio;

    public ShimConnection Shim { get; } = shim;

    public EventPump Events { get; } = events;

    /// <summary>Set once the shim is gone and everything it held was removed; the task is then only a record.</summary>
    public TaskTombstone? Tombstone => Volatile.Read(ref _tombstone);

    internal void Bury(TaskTombstone tombstone) => Volatile.Write(ref _tombstone, tombstone);
}
