using Containerd.Daemon.Shims;

namespace Containerd.Daemon.Tasks;

/// <summary>A task the daemon manages: its shim connection and event pump.</summary>
public sealed class RunningTask(string @namespace, string id, uint initPid, ShimConnection shim, EventPump events)
{
    public string Namespace { get; } = @namespace;

    public string Id { get; } = id;

    public uint InitPid { get; } = initPid;

    public ShimConnection Shim { get; } = shim;

    public EventPump Events { get; } = events;
}
