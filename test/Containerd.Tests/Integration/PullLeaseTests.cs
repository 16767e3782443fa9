using Containerd.Tests.Support;

namespace Containerd.Tests.Integration;

/// <summary>
/// What a pull cut short leaves in the content store: its leased blobs that no image
/// reaches are collected, when it fails while the daemon lives and, after a kill -9
/// mid-pull, at the next start-up; blobs another image reaches and blobs the image side
/// never owned (a checkpoint written straight into the store) stay.
/// </summary>
[TestFixture]
public sealed class PullLeaseTests : DaemonFixture
{
    private const string CrashVariable = "CONTAINERD_TEST_CRASH_AT";

    private TestImages _images = null!;

    [OneTimeSetUp]
    public async Task BuildImagesAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        _images = await TestImages.GetAsync(timeout.Token);
    }

    private Task<(int ExitCode, string Stdout, string Stderr)> CtrAsync(params string[] args) =>
        CtrProcess.RunAsync(Daemon, Client.Namespace, null, closeStdin: true, TimeSpan.FromSeconds(120), args);

    private static IEnumerable<string> BlobsOf(TestImage image) =>
        image.Layers.Select(l => l.Digest).Append(image.ConfigDigest!).Append(image.ManifestDigest);

    [Test]
    public async Task A_pull_killed_before_its_record_leaves_nothing_after_restart()
    {
        var content = new ContentDirectory(Daemon);
        var busybox = _images.Busybox.Reference(_images.Plain);
        var layered = _images.Layered.Reference(_images.Plain);
        var (code, stdout, stderr) = await CtrAsync("images", "pull", "--plain-http", "--no-unpack", busybox);
        Assert.That(code, Is.EqualTo(0), stdout + stderr);
        var checkpoint = content.Put(System.Text.Encoding.UTF8.GetBytes($"checkpoint-like {Guid.NewGuid()}"));
        var kept = BlobsOf(_images.Busybox).Append(checkpoint).Order(StringComparer.Ordinal).ToArray();
        var layeredOnly = BlobsOf(_images.Layered).Except(kept).ToArray();
        Assert.That(layeredOnly, Is.Not.Empty, "the layered image has blobs of its own");
        try
        {
            await Daemon.StopAsync();
            await Daemon.RestartAsync(new DaemonStartOptions(Environment: new Dictionary<string, string> { [CrashVariable] = "pull-downloaded" }));
            var (pullCode, _, _) = await CtrAsync("images", "pull", "--plain-http", "--no-unpack", layered);
            Assert.That(pullCode, Is.Not.EqualTo(0), "the daemon died mid-pull");
            Assert.That(await Daemon.WaitForExitAsync(TimeSpan.FromSeconds(30)), Is.True, "the daemon kills itself at the crash point");
            Assert.That(Daemon.ExitCode, Is.EqualTo(128 + 9));
            Assert.That(content.List(), Is.SupersetOf(layeredOnly), "the killed pull had stored its blobs");

            await Daemon.RestartAsync();
            Assert.That(content.List(), Is.EqualTo(kept), "after restart: busybox's blobs and the checkpoint, nothing of the killed pull\n" + Tail(Daemon.Log));
            Assert.That(Daemon.Log, Does.Contain("blobs of interrupted pulls collected"));

            // The leases went with the collection: a second restart finds nothing more to do, and the image still pulls.
            (code, stdout, stderr) = await CtrAsync("images", "pull", "--plain-http", "--no-unpack", layered);
            Assert.That(code, Is.EqualTo(0), stdout + stderr);
            Assert.That(content.List(), Is.SupersetOf(layeredOnly));
        }
        finally
        {
            if (Daemon.ExitCode is not null)
                await Daemon.RestartAsync();
            await CtrAsync("images", "remove", layered, busybox);
            content.Remove(checkpoint);
        }
        Assert.That(content.List(), Is.Empty, "removing both images and the checkpoint empties the store");
    }

    [Test]
    public async Task A_pull_that_fails_while_the_daemon_lives_collects_what_it_wrote()
    {
        var content = new ContentDirectory(Daemon);
        var checkpoint = content.Put(System.Text.Encoding.UTF8.GetBytes($"checkpoint-like {Guid.NewGuid()}"));
        try
        {
            // The index is fetched and stored, then no manifest fits the platform: NotFound.
            var (code, _, stderr) = await CtrAsync("images", "pull", "--plain-http", "--no-unpack", "--platform", "linux/s390x",
                _images.Multiarch.Reference(_images.Plain));
            Assert.That(code, Is.Not.EqualTo(0));
            Assert.That(stderr, Does.Contain("no manifest for platform linux/s390x"));
            Assert.That(content.List(), Is.EqualTo(new[] { checkpoint }), "the index the failed pull stored is gone, the checkpoint stays\n" + Tail(Daemon.Log));
            Assert.That(Daemon.Log, Does.Contain("abandoned: 1 of its 1 blobs collected"));
        }
        finally
        {
            content.Remove(checkpoint);
        }
    }
}
