using Containerd.Api.Execution;
using Containerd.Api.Types;
using Task = System.Threading.Tasks.Task;

namespace Containerd.Tests.Support;

/// <summary>What Tasks.Delete of a task whose init was killed with SIGKILL must answer, and leave behind.</summary>
public static class KilledTask
{
    /// <summary>
    /// The Delete of a task whose shim lived to see its init die: the shim has reaped the init
    /// before it reported the exit, so the pid is gone the moment Delete returns.
    /// </summary>
    /// <param name="id">The container id, to name in the failure messages.</param>
    /// <param name="deleted">The Delete response.</param>
    /// <param name="pid">The init's pid, which must no longer exist at all.</param>
    /// <param name="exit">The init's EXIT event, where the test has it: Delete must report the same time.</param>
    public static void AssertDeleted(string id, DeleteResponse deleted, uint pid, Event? exit = null)
    {
        Assert.Multiple(() =>
        {
            AssertResponse(id, deleted, exit);
            Assert.That(Probe.IsGone(pid), $"{id}: pid {pid} is gone (no such process) once Delete returned; it is {Probe.Describe(pid)}");
        });
    }

    /// <summary>
    /// The Delete of a task whose shim was killed: its init was orphaned, so PID 1 (not the
    /// daemon, which must not be a subreaper, nor the dead shim) reaps it, in its own time.
    /// Once Delete returns the init must be dead, at most a zombie not yet reaped; it must then
    /// be gone within a bounded wait for that reaping (awaited on its pidfd).
    /// </summary>
    public static async Task AssertOrphanDeletedAsync(string id, DeleteResponse deleted, uint pid, Event? exit = null, CancellationToken cancellationToken = default)
    {
        var state = Probe.Describe(pid);
        var reaped = await ProcessExit.WaitGoneAsync((int)pid, TimeSpan.FromSeconds(30), cancellationToken);
        Assert.Multiple(() =>
        {
            AssertResponse(id, deleted, exit);
            // Whose zombie it is depends on the host (PID 1 or a subreaper above the test); it must only be dead.
            Assert.That(state, Is.EqualTo("gone").Or.StartsWith("a zombie of "), $"{id}: pid {pid} once Delete returned");
            Assert.That(reaped, $"{id}: pid {pid} is gone (no such process) within 30 s of Delete; it is {Probe.Describe(pid)}");
        });
    }

    private static void AssertResponse(string id, DeleteResponse deleted, Event? exit)
    {
        Assert.That(deleted.ExitStatus, Is.EqualTo(137u), $"{id}: killed by signal 9 reports 128+9");
        Assert.That(deleted.ExitedAt, Is.Not.Null, $"{id}: exited_at is set");
        Assert.That(deleted.ExitedAt?.Seconds ?? 0, Is.GreaterThan(0), $"{id}: exited_at is a real time, not the epoch");
        if (exit is not null)
        {
            Assert.That(exit.ExitStatus, Is.EqualTo(137u), $"{id}: the EXIT event reports 128+9 too");
            Assert.That(deleted.ExitedAt, Is.EqualTo(exit.ExitedAt), $"{id}: Delete reports the time the EXIT event carried");
        }
    }
}
