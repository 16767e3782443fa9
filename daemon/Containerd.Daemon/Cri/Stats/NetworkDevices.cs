using System.Globalization;

namespace Containerd.Daemon.Cri.Stats;

/// <summary>
/// The interface counters of a network namespace, read from
/// <c>/proc/PID/net/dev</c> of a process inside it (the sandbox's pause
/// process): the kernel shows the reader's view of the pid's namespace, so no
/// setns is needed.
/// </summary>
public static class NetworkDevices
{
    /// <summary>The interface CRI reports as the pod's default, as containerd does.</summary>
    public const string DefaultInterface = "eth0";

    /// <summary>Every interface but loopback; null when the process (or its file) is gone.</summary>
    public static IReadOnlyList<InterfaceCounters>? Read(int pid, string procRoot = "/proc")
    {
        string text;
        try
        {
            text = File.ReadAllText(Path.Combine(procRoot, pid.ToString(CultureInfo.InvariantCulture), "net", "dev"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        return Parse(text).Where(i => i.Name != "lo").ToList();
    }

    /// <summary>
    /// Parses net/dev: two header lines, then "NAME: rx_bytes rx_packets
    /// rx_errs ... (8 receive fields) tx_bytes tx_packets tx_errs ...".
    /// Lines that do not fit are skipped.
    /// </summary>
    public static IReadOnlyList<InterfaceCounters> Parse(string text)
    {
        var result = new List<InterfaceCounters>();
        foreach (var line in text.Split('\n'))
        {
            var colon = line.IndexOf(':');
            if (colon <= 0)
                continue;
            var name = line[..colon].Trim();
            var fields = line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (name.Length == 0 || name.Contains('|') || fields.Length < 11)
                continue;
            if (TryField(fields[0], out var rxBytes) && TryField(fields[2], out var rxErrors)
                && TryField(fields[8], out var txBytes) && TryField(fields[10], out var txErrors))
                result.Add(new InterfaceCounters(name, rxBytes, rxErrors, txBytes, txErrors));
        }
        return result;
    }

    private static bool TryField(string text, out ulong value) =>
        ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
}
