using Containerd.Api.Execution;
using Containerd.Api.Types;

namespace Containerd.Tests.Support;

/// <summary>What Tasks.Delete of a task whose init was killed with SIGKILL must answer, and leave behind.</summary>
public static class KilledTask
{
    /// <param name="id">The container id, to name in the failure messages.</param>
    /// <param name="deleted">The Delete response.</param>
    /// <param name="pid">The init's pid, which must no longer exist at all.</param>
    /// <param name="exit">The init's EXIT event, where the test has it: Delete must report the same time.</param>
    public static void AssertDeleted(string id, DeleteResponse deleted, uint pid, Event? exit = null)
    {
        Assert.Multiple(() =>
        {
            Assert.That(deleted.ExitStatus, Is.EqualTo(137u), $"{id}: killed by signal 9 reports 128+9");
            Assert.That(deleted.ExitedAt, Is.Not.Null, $"{id}: exited_at is set");
            Assert.That(deleted.ExitedAt?.Seconds ?? 0, Is.GreaterThan(0), $"{id}: exited_at is a real time, not the epoch");
            if (exit is not null)
            {
                Assert.That(exit.ExitStatus, Is.EqualTo(137u), $"{id}: the EXIT event reports 128+9 too");
                Assert.That(deleted.ExitedAt, Is.EqualTo(exit.ExitedAt), $"{id}: Delete reports the time the EXIT event carried");
            }
            Assert.That(Probe.IsGone(pid), $"{id}: pid {pid} is gone (no such process) once Delete returned");
        });
    }
}
