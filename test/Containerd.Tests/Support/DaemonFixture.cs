namespace Containerd.Tests.Support;

/// <summary>
/// One real daemon per test class, in its own temporary directory; each test gets its own
/// namespace, so what a test leaves behind is found and blamed on that test.
/// </summary>
public abstract class DaemonFixture
{
    private int _counter;

    protected DaemonProcess Daemon { get; private set; } = null!;

    protected DaemonClient Client { get; private set; } = null!;

    /// <summary>How the fixture's daemon is started (a fixture may add daemon arguments).</summary>
    protected virtual DaemonStartOptions StartOptions => new();

    [OneTimeSetUp]
    public async Task StartDaemonAsync()
    {
        Daemon = await DaemonProcess.StartAsync(StartOptions);
    }

    [OneTimeTearDown]
    public async Task StopDaemonAsync()
    {
        if (Daemon is null)
            return;
        // Both the leak check and the daemon's own teardown run; neither failure hides the other.
        var leaks = await Leaks.WaitForNoneAsync(Daemon);
        Exception? disposeFailure = null;
        try
        {
            await Daemon.DisposeAsync();
        }
        catch (Exception e)
        {
            disposeFailure = e;
        }
        Assert.Multiple(() =>
        {
            Assert.That(leaks, Is.Empty, "the fixture left behind:\n" + string.Join("\n", leaks));
            Assert.That(disposeFailure, Is.Null, "stopping the daemon and removing its directory failed: " + disposeFailure);
        });
    }

    [SetUp]
    public async Task ConnectNamespaceAsync()
    {
        // A test that stops or kills the daemon and fails before restarting it must not fail the next ones too.
        if (Daemon.ExitCode is not null)
            await Daemon.RestartAsync();

        var ns = $"t{Interlocked.Increment(ref _counter)}-{Guid.NewGuid().ToString("N")[..6]}";
        Client = Daemon.Connect(ns);
    }

    [TearDown]
    public async Task CheckNothingLeftAsync()
    {
        var ns = Client.Namespace;
        Client.Dispose();
        var leaks = await Leaks.WaitForNoneAsync(Daemon, ns);
        if (leaks.Count > 0)
        {
            var unclean = Leaks.ForceCleanup(Daemon);
            Assert.Fail("the test left behind:\n" + string.Join("\n", leaks)
                + (unclean.Count > 0 ? "\n--- and the forced cleanup failed too ---\n" + string.Join("\n", unclean) : "")
                + "\n--- daemon log tail ---\n" + Tail(Daemon.Log));
        }
    }

    protected static string Tail(string text, int lines = 40) =>
        string.Join("\n", text.Split('\n').TakeLast(lines));
}
