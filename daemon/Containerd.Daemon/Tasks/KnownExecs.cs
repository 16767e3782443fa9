using Containerd.Api.Shim;
using Google.Protobuf.WellKnownTypes;
using Event = Containerd.Api.Types.Event;
using Types = Containerd.Api.Types;

namespace Containerd.Daemon.Tasks;

/// <summary>
/// The exec'd processes of a live task as the daemon last heard of them (the
/// shim's state at attach, then EXEC_ADDED and EXIT events, Exec and
/// DeleteProcess calls). Only the shim holds them for real; this copy exists
/// so that, when the shim dies, each one still gets its EXIT and can be
/// deleted from the tombstone.
/// </summary>
public sealed class KnownExecs
{
    private readonly Lock _gate = new();
    // null: running (or created, paused) as far as the daemon knows.
    private readonly Dictionary<uint, ExecExit?> _execs = [];

    /// <summary>What a shim's State reported (a re-attached task).</summary>
    public void Seed(IEnumerable<ProcessState> execs)
    {
        lock (_gate)
        {
            foreach (var exec in execs)
            {
                _execs[exec.Pid] = exec.Status == Types.Status.Stopped
                    ? new ExecExit(exec.Pid, exec.ExitStatus, exec.ExitedAt ?? new Timestamp())
                    : null;
            }
        }
    }

    public void Added(uint pid)
    {
        lock (_gate)
            _execs.TryAdd(pid, null);
    }

    /// <summary>An event of this task's shim; the init's events are not for this table.</summary>
    public void Observe(Event evt, uint initPid)
    {
        if (evt.Pid == initPid || evt.Pid == 0)
            return;
        switch (evt.Type)
        {
            case Event.Types.EventType.ExecAdded:
                Added(evt.Pid);
                break;
            case Event.Types.EventType.Exit:
                lock (_gate)
                    _execs[evt.Pid] = new ExecExit(evt.Pid, evt.ExitStatus, evt.ExitedAt ?? new Timestamp());
                break;
        }
    }

    public void Forget(uint pid)
    {
        lock (_gate)
            _execs.Remove(pid);
    }

    /// <summary>Every exec not yet deleted, by pid: its exit, or null while it was running.</summary>
    public IReadOnlyList<KeyValuePair<uint, ExecExit?>> Snapshot()
    {
        lock (_gate)
            return _execs.OrderBy(e => e.Key).ToList();
    }
}
