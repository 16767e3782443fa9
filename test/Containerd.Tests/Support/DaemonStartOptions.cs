namespace Containerd.Tests.Support;

/// <summary>How a test starts its daemon.</summary>
/// <param name="Environment">Extra environment, e.g. CONTAINERD_TEST_CRASH_AT or NOTIFY_SOCKET.</param>
/// <param name="UnderSystemd">Run the daemon as the child of a process named <c>systemd</c>, so its systemd integration turns on.</param>
/// <param name="WaitForSocket">Return only once the API socket accepts connections.</param>
/// <param name="Arguments">Extra daemon arguments, after the test's own (e.g. <c>--runtime</c> WRAPPER).</param>
public sealed record DaemonStartOptions(
    IReadOnlyDictionary<string, string>? Environment = null,
    bool UnderSystemd = false,
    bool WaitForSocket = true,
    IReadOnlyList<string>? Arguments = null);
