namespace Containerd.Daemon.Config;

/// <summary>
/// The bounds the daemon puts on waits for shims, the runtime and its own shutdown
/// (the <c>[timeouts]</c> table of the configuration file). The defaults are what a
/// lightly loaded host needs with room to spare; a slow or crowded host may need more.
/// </summary>
/// <param name="ShimReady">How long a new shim has to print <c>ready</c> (its socket listens).</param>
/// <param name="ShimShutdown">How long the Shutdown call to a shim may take.</param>
/// <param name="ShimExit">How long a shim told to shut down has to exit before it is killed.</param>
/// <param name="ShimKilledExit">How long a killed shim has to be reaped.</param>
/// <param name="ShimDelete">How long <c>containerd-shim delete</c> (cleanup after a dead shim) may run.</param>
/// <param name="RecoveryState">At start-up, how long each shim found on disk has to answer State.</param>
/// <param name="RecoveryCreateWait">At start-up, how long to wait for a shim still inside a Create a killed daemon started.</param>
/// <param name="EventAckInterval">How often the daemon acknowledges published events to each shim (and persists the position).</param>
/// <param name="EventDrain">How long a deleted task's event stream may take to deliver what is still in flight.</param>
/// <param name="HostShutdown">How long the daemon's own graceful shutdown (open calls, streams) may take on SIGTERM.</param>
public sealed record DaemonTimeouts(
    TimeSpan ShimReady,
    TimeSpan ShimShutdown,
    TimeSpan ShimExit,
    TimeSpan ShimKilledExit,
    TimeSpan ShimDelete,
    TimeSpan RecoveryState,
    TimeSpan RecoveryCreateWait,
    TimeSpan EventAckInterval,
    TimeSpan EventDrain,
    TimeSpan HostShutdown)
{
    /// <summary>The values the daemon used as constants before they became configurable.</summary>
    public static DaemonTimeouts Default { get; } = new(
        ShimReady: TimeSpan.FromSeconds(10),
        ShimShutdown: TimeSpan.FromSeconds(3),
        ShimExit: TimeSpan.FromSeconds(5),
        ShimKilledExit: TimeSpan.FromSeconds(2),
        ShimDelete: TimeSpan.FromSeconds(30),
        RecoveryState: TimeSpan.FromSeconds(3),
        // runc create normally takes a fraction of a second; a shim stuck longer is treated as failed.
        RecoveryCreateWait: TimeSpan.FromSeconds(30),
        EventAckInterval: TimeSpan.FromMilliseconds(100),
        EventDrain: TimeSpan.FromSeconds(2),
        HostShutdown: TimeSpan.FromSeconds(10));
}
