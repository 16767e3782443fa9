using Containerd.Api.Execution;
using Containerd.Tests.Support;

namespace Containerd.Tests.Integration;

/// <summary>
/// The shim's log lines reach the daemon's log (category Containerd.Shim, the task named on
/// each), so they outlive the bundle that Delete removes.
/// </summary>
[TestFixture]
public sealed class ShimLogTests : DaemonFixture
{
    [Test]
    public async Task ShimLinesAppearInTheDaemonLogIncludingThoseWrittenAtDelete()
    {
        await using var events = await Client.SubscribeEventsAsync();
        var pid = await Client.RunAsync("shimlog", "true");
        await events.WaitForExitAsync("shimlog", pid);
        await Client.RemoveAsync("shimlog");

        // Delete returned, so the bundle is gone: these lines came from the daemon's follower.
        await WaitForShimLineAsync("shimlog", $"created task with init {pid}");
        await WaitForShimLineAsync("shimlog", "deleted task (exit status 0)");
        await WaitForShimLineAsync("shimlog", "shim stopped");
        Assert.That(ShimLines("shimlog").First(l => l.Contains("created task", StringComparison.Ordinal)),
            Does.Contain("info: Containerd.Shim").And.Contain($"id=shimlog namespace={Client.Namespace}"));
    }

    [Test]
    public async Task ARestartedDaemonFollowsOnWithoutReplayingOldLines()
    {
        await using (var events = await Client.SubscribeEventsAsync())
        {
            var pid = await Client.RunAsync("kept", "sleep", "300");
            await WaitForShimLineAsync("kept", $"created task with init {pid}");

            await Daemon.StopAsync();
            await Daemon.RestartAsync();
        }
        using var client = Daemon.Connect(Client.Namespace);
        await client.Tasks.KillAsync(new KillRequest { ContainerId = "kept", Signal = 9 }, client.Options());
        await client.RemoveAsync("kept");

        await WaitForShimLineAsync("kept", "deleted task");
        Assert.That(ShimLines("kept").Count(l => l.Contains("created task", StringComparison.Ordinal)), Is.EqualTo(1),
            Tail(Daemon.Log));
    }

    private IEnumerable<string> ShimLines(string id) =>
        Daemon.Log.Split('\n').Where(l => l.Contains("Containerd.Shim[", StringComparison.Ordinal)
                                          && l.Contains($"shim {Client.Namespace} {id}: ", StringComparison.Ordinal));

    private async Task WaitForShimLineAsync(string id, string text)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!ShimLines(id).Any(l => l.Contains(text, StringComparison.Ordinal)))
        {
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"no shim line of {id} with \"{text}\" in the daemon's log:\n{Tail(Daemon.Log, 80)}");
            await Task.Delay(50);
        }
    }
}
