namespace Containerd.UnitTests.Shim.Reaper;

/// <summary>A millisecond tick that moves only when a test says so, so expiry is tested without waiting.</summary>
internal sealed class ManualClock(long start)
{
    public long Now { get; private set; } = start;

    public long Read() => Now;

    public void Advance(long milliseconds) => Now += milliseconds;
}
