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

    [OneTimeSetUp]
    public async Task StartDaemonAsync()
    {
        Daemon = await DaemonProcess.StartAsync();
    }

    [OneTimeTearDown]
    public async Task StopDaemonAsync()
    {
        if (Daemon is null)
            return;
        try
        {
            Leaks.AssertNone(Daemon);
        }
        finally
        {
            await Daemon.DisposeAsync();
        }
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
    public void CheckNothingLeft()
    {
        var ns = Client.Namespace;
        Client.Dispose();
        var leaks = Leaks.WaitForNone(Daemon, ns);
        if (leaks.Count > 0)
        {
            Leaks.ForceCleanup(Daemon);
            Assert.Fail("the test left behind:\n" + string.Join("\n", leaks) + "\n--- daemon log tail ---\n" + Tail(Daemon.Log));
        }
    }

    protected static string Tail(string text, int lines = 40) =>
        string.Join("\n", text.Split('\n').TakeLast(lines));
}
