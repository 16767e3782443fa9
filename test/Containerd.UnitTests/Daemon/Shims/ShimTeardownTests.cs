using Containerd.Daemon.Hosting;
using Containerd.Daemon.Shims;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Containerd.UnitTests.Daemon.Shims;

/// <summary>The background teardowns a Delete leaves to <see cref="ShimManager"/>: tracked per task, awaited by Create and by the daemon's stop.</summary>
public sealed class ShimTeardownTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private string _dir = "";
    private ShimManager _shims = null!;

    [SetUp]
    public void CreateManager()
    {
        _dir = Directory.CreateTempSubdirectory("shim-teardown-").FullName;
        var options = new DaemonOptions(
            Address: Path.Combine(_dir, "containerd.sock"),
            Root: Path.Combine(_dir, "root"),
            State: Path.Combine(_dir, "state"),
            Runtime: "/usr/bin/runc",
            Shim: null,
            LogLevel: LogLevel.Debug,
            LogLevelName: "debug");
        var layout = new StateLayout(options.State);
        _shims = new ShimManager(options, layout,
            new ShimDeleteCommand(options, layout, NullLogger<ShimDeleteCommand>.Instance), NullLogger<ShimManager>.Instance);
    }

    [TearDown]
    public void RemoveDirectory() => Directory.Delete(_dir, recursive: true);

    [Test]
    public async Task Waiting_for_a_task_with_no_teardown_returns_at_once()
    {
        Assert.That(_shims.WaitForTeardownAsync("ns", "web", CancellationToken.None).IsCompleted);
        Assert.That(await _shims.WaitForAllTeardownsAsync(TimeSpan.Zero), Is.True);
        Assert.That(_shims.PendingTeardowns, Is.Zero);
    }

    [Test]
    public async Task A_create_of_the_same_id_waits_for_the_teardown_and_others_do_not()
    {
        var release = new TaskCompletionSource();
        var teardown = _shims.BeginTeardown("ns", "web", () => release.Task);

        var sameId = _shims.WaitForTeardownAsync("ns", "web", CancellationToken.None);
        Assert.That(_shims.WaitForTeardownAsync("ns", "other", CancellationToken.None).IsCompleted, "another id");
        Assert.That(_shims.WaitForTeardownAsync("other", "web", CancellationToken.None).IsCompleted, "the same id in another namespace");
        Assert.That(_shims.PendingTeardowns, Is.EqualTo(1));
        await Task.Yield();
        Assert.That(sameId.IsCompleted, Is.False);

        release.SetResult();
        await sameId.WaitAsync(Bound);
        await teardown.WaitAsync(Bound);
        Assert.That(_shims.PendingTeardowns, Is.Zero);
        Assert.That(_shims.WaitForTeardownAsync("ns", "web", CancellationToken.None).IsCompleted);
    }

    [Test]
    public async Task A_failed_teardown_is_logged_not_thrown_and_no_longer_pending()
    {
        var teardown = _shims.BeginTeardown("ns", "web", () => throw new IOException("bundle busy"));
        await teardown.WaitAsync(Bound);
        Assert.That(teardown.IsCompletedSuccessfully);
        await _shims.WaitForTeardownAsync("ns", "web", CancellationToken.None).WaitAsync(Bound);
        Assert.That(_shims.PendingTeardowns, Is.Zero);
    }

    [Test]
    public async Task A_second_teardown_of_one_id_runs_after_the_first()
    {
        var release = new TaskCompletionSource();
        var order = new List<int>();
        var first = _shims.BeginTeardown("ns", "web", async () =>
        {
            await release.Task;
            lock (order)
                order.Add(1);
        });
        var second = _shims.BeginTeardown("ns", "web", () =>
        {
            lock (order)
                order.Add(2);
            return Task.CompletedTask;
        });
        await Task.Delay(20);
        Assert.That(second.IsCompleted, Is.False, "the second waits for the first");
        release.SetResult();
        await Task.WhenAll(first, second).WaitAsync(Bound);
        Assert.That(order, Is.EqualTo(new[] { 1, 2 }));
        Assert.That(_shims.PendingTeardowns, Is.Zero);
    }

    [Test]
    public async Task A_waiting_create_can_be_cancelled()
    {
        var release = new TaskCompletionSource();
        _ = _shims.BeginTeardown("ns", "web", () => release.Task);
        using var cancel = new CancellationTokenSource();
        var wait = _shims.WaitForTeardownAsync("ns", "web", cancel.Token);
        await cancel.CancelAsync();
        Assert.That(async () => await wait, Throws.InstanceOf<OperationCanceledException>());
        release.SetResult();
        Assert.That(await _shims.WaitForAllTeardownsAsync(Bound), Is.True);
    }

    [Test]
    public async Task The_daemons_stop_waits_for_every_teardown_within_its_bound()
    {
        var release = new TaskCompletionSource();
        _ = _shims.BeginTeardown("ns", "a", () => release.Task);
        _ = _shims.BeginTeardown("ns", "b", () => Task.CompletedTask);
        Assert.That(await _shims.WaitForAllTeardownsAsync(TimeSpan.FromMilliseconds(50)), Is.False, "one is held");
        var all = _shims.WaitForAllTeardownsAsync(Bound);
        release.SetResult();
        Assert.That(await all, Is.True);
        Assert.That(_shims.PendingTeardowns, Is.Zero);
    }
}
