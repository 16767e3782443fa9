namespace Containerd.Ctr.Client;

/// <summary>How a process ended; <see cref="Status"/> is null when the daemon could not say.</summary>
public sealed record ProcessExit(uint? Status, DateTime? ExitedAt)
{
    public static ProcessExit Unknown { get; } = new(null, null);
}
