using Containerd.Daemon.Shims;
using Containerd.Daemon.Tasks;
using Google.Protobuf.WellKnownTypes;
using Event = Containerd.Api.Types.Event;

namespace Containerd.UnitTests.Daemon.Tasks;

public sealed class TaskTombstoneTests
{
    private static readonly DateTime Now = new(2026, 5, 6, 7, 8, 9, DateTimeKind.Utc);

    [Test]
    public void The_exit_the_shim_published_wins()
    {
        var exitedAt = Timestamp.FromDateTime(Now.AddMinutes(-1));
        var seen = new Event { Type = Event.Types.EventType.Exit, Pid = 10, ExitStatus = 7, ExitedAt = exitedAt };
        var tombstone = TaskTombstone.Of(seen, new ShimDeleteResult("stopped", 10, 255), Now);
        Assert.That(tombstone, Is.EqualTo(new TaskTombstone(7, exitedAt)));
    }

    [Test]
    public void Unseen_it_is_what_the_shim_delete_reported_at_the_time_it_ran()
    {
        Assert.That(TaskTombstone.Of(null, new ShimDeleteResult("running", 10, 137), Now),
            Is.EqualTo(new TaskTombstone(137, Timestamp.FromDateTime(Now))));
        Assert.That(TaskTombstone.Of(null, new ShimDeleteResult("stopped", 10, 255), Now),
            Is.EqualTo(new TaskTombstone(255, Timestamp.FromDateTime(Now))));
    }

    [Test]
    public void A_failed_cleanup_leaves_the_exit_unknown()
    {
        Assert.That(TaskTombstone.Of(null, null, Now),
            Is.EqualTo(new TaskTombstone(TaskTombstone.UnknownExitStatus, Timestamp.FromDateTime(Now))));
    }
}
