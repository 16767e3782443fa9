using System.Globalization;

namespace Containerd.Daemon.Cri.Specs;

/// <summary>
/// containerd's <c>restrict_oom_score_adj</c>: a process may not lower its
/// oom_score_adj below its parent's without CAP_SYS_RESOURCE, so runc fails
/// ("failed to update /proc/self/oom_score_adj: Permission denied") when the
/// spec asks for less than the daemon's own score (e.g. the sandbox's -998) and
/// the daemon lacks that capability (in a container, or on this test machine).
/// The spec builders raise such a score to the floor given in their input.
/// </summary>
public static class OomScoreFloor
{
    private const int CapSysResource = 24;

    /// <summary>
    /// The floor for this daemon: its own oom_score_adj when it cannot lower
    /// scores (no CAP_SYS_RESOURCE in its effective set), else null (no floor).
    /// Reads /proc/self; null when that cannot be read.
    /// </summary>
    public static int? ForThisProcess()
    {
        try
        {
            var capEff = File.ReadLines("/proc/self/status")
                .FirstOrDefault(l => l.StartsWith("CapEff:", StringComparison.Ordinal));
            if (capEff is null || !ulong.TryParse(capEff["CapEff:".Length..].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var effective))
                return null;
            if ((effective & (1ul << CapSysResource)) != 0)
                return null;
            return int.Parse(File.ReadAllText("/proc/self/oom_score_adj").Trim(), CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    /// <summary><paramref name="wanted"/>, raised to <paramref name="floor"/> when there is one.</summary>
    public static int Apply(int wanted, int? floor) => floor is { } f && wanted < f ? f : wanted;
}
