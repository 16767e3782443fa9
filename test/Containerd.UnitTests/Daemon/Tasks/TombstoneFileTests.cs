using Containerd.Api.Shim;
using Containerd.Daemon.Shims;
using Containerd.Daemon.Tasks;
using Containerd.Shared.Bundles;
using Google.Protobuf.WellKnownTypes;
using Event = Containerd.Api.Types.Event;
using Types = Containerd.Api.Types;

namespace Containerd.UnitTests.Daemon.Tasks;

/// <summary>A stopped task's record on disk: read back exactly as written, so a restart changes no answer.</summary>
public sealed class TombstoneFileTests
{
    private static readonly Timestamp InitExitedAt = new() { Seconds = 1_780_000_000, Nanos = 123_456_789 };
    private static readonly Timestamp ExecExitedAt = new() { Seconds = 1_780_000_001, Nanos = 1 };

    private static readonly BuriedTask Buried = new(
        4242,
        new Stdio { Stdin = "/in put", Stdout = "/out\"quoted\"", Stderr = "/err", Terminal = false },
        new TaskTombstone(137, InitExitedAt) { Execs = [new ExecExit(17, 137, ExecExitedAt), new ExecExit(18, 0, InitExitedAt)] });

    [Test]
    public void Round_trips_exactly()
    {
        var parsed = TombstoneFile.Parse(TombstoneFile.Serialize(Buried), out var error);
        Assert.That(error, Is.Empty);
        Assert.That(parsed, Is.EqualTo(Buried));
        Assert.That(parsed!.Tombstone.ExitedAt, Is.EqualTo(InitExitedAt), "nanoseconds are kept");
    }

    [Test]
    public void A_torn_or_foreign_file_is_refused_with_a_reason()
    {
        var whole = TombstoneFile.Serialize(Buried);
        foreach (var content in new[] { whole[..(whole.Length / 2)], "{}"u8.ToArray(), "{\"version\":2}"u8.ToArray(), "x"u8.ToArray() })
        {
            Assert.That(TombstoneFile.Parse(content, out var error), Is.Null);
            Assert.That(error, Is.Not.Empty);
        }
    }

    [Test]
    public void Read_from_a_bundle_without_one_is_null_without_error()
    {
        var dir = Directory.CreateTempSubdirectory("tomb-");
        try
        {
            var bundle = new TaskBundle(dir.FullName);
            Assert.That(TombstoneFile.Read(bundle, out var error), Is.Null);
            Assert.That(error, Is.Empty);
            TombstoneFile.Write(bundle, Buried);
            Assert.That(TombstoneFile.Read(bundle, out error), Is.EqualTo(Buried));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Test]
    public void Execs_keep_a_seen_exit_and_a_running_one_ends_as_the_cleanup_said()
    {
        var now = new DateTime(2026, 5, 6, 7, 8, 9, DateTimeKind.Utc);
        var known = new KnownExecs();
        known.Seed([new ProcessState { Pid = 20, Status = Types.Status.Running }]);
        known.Observe(new Event { Type = Event.Types.EventType.ExecAdded, Pid = 21 }, initPid: 10);
        known.Observe(new Event { Type = Event.Types.EventType.ExecAdded, Pid = 22 }, initPid: 10);
        known.Observe(new Event { Type = Event.Types.EventType.Exit, Pid = 21, ExitStatus = 3, ExitedAt = ExecExitedAt }, initPid: 10);
        known.Observe(new Event { Type = Event.Types.EventType.Exit, Pid = 10, ExitStatus = 9, ExitedAt = ExecExitedAt }, initPid: 10);
        known.Forget(22);

        var tombstone = TaskTombstone.Of(null, known.Snapshot(), new ShimDeleteResult("running", 10, 137), now);
        Assert.That(tombstone.Execs, Is.EqualTo(new[]
        {
            new ExecExit(20, 137, Timestamp.FromDateTime(now)),
            new ExecExit(21, 3, ExecExitedAt),
        }));
        Assert.That(TaskTombstone.Of(null, known.Snapshot(), null, now).Exec(20)!.ExitStatus, Is.EqualTo(TaskTombstone.UnknownExitStatus));
    }

    [Test]
    public async Task A_stopped_task_deletes_a_kept_exec_once_and_records_that()
    {
        TaskTombstone? persisted = null;
        var task = new StoppedTask("ns", "web", 4242, new Stdio(), Buried.Tombstone, t => persisted = t);
        var deleted = await task.DeleteProcessAsync(17, CancellationToken.None);
        Assert.That((deleted.ContainerId, deleted.ExitStatus, deleted.ExitedAt), Is.EqualTo(("web", 137u, ExecExitedAt)));
        Assert.That(persisted!.Execs.Select(e => e.Pid), Is.EqualTo(new[] { 18u }));
        var again = Assert.ThrowsAsync<Grpc.Core.RpcException>(() => task.DeleteProcessAsync(17, CancellationToken.None));
        Assert.That(again!.StatusCode, Is.EqualTo(Grpc.Core.StatusCode.NotFound));
    }
}
