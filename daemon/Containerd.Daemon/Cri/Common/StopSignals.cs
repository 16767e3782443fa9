using Runtime.V1;

namespace Containerd.Daemon.Cri.Common;

/// <summary>
/// The signal StopContainer sends first: the container config's stop_signal, else
/// the image config's StopSignal (a name such as SIGQUIT or QUIT, or a number),
/// else SIGTERM, as containerd decides.
/// </summary>
public static class StopSignals
{
    private static readonly Dictionary<string, uint> Numbers = new(StringComparer.Ordinal)
    {
        ["HUP"] = 1, ["INT"] = 2, ["QUIT"] = 3, ["ILL"] = 4, ["TRAP"] = 5, ["ABRT"] = 6, ["IOT"] = 6, ["BUS"] = 7,
        ["FPE"] = 8, ["KILL"] = 9, ["USR1"] = 10, ["SEGV"] = 11, ["USR2"] = 12, ["PIPE"] = 13, ["ALRM"] = 14,
        ["TERM"] = 15, ["STKFLT"] = 16, ["CHLD"] = 17, ["CLD"] = 17, ["CONT"] = 18, ["STOP"] = 19, ["TSTP"] = 20,
        ["TTIN"] = 21, ["TTOU"] = 22, ["URG"] = 23, ["XCPU"] = 24, ["XFSZ"] = 25, ["VTALRM"] = 26, ["PROF"] = 27,
        ["WINCH"] = 28, ["IO"] = 29, ["POLL"] = 29, ["PWR"] = 30, ["SYS"] = 31, ["RTMIN"] = 34,
    };

    /// <param name="imageStopSignal">The image config's StopSignal (<see cref="Shared.Oci.ImageConfig.StopSignal"/>).</param>
    public static uint Of(Signal configured, string imageStopSignal)
    {
        if (configured != Signal.RuntimeDefault && Parse(configured.ToString()) is { } fromConfig)
            return fromConfig;
        return Parse(imageStopSignal) ?? 15;
    }

    /// <summary>SIGTERM, TERM, Sigterm, 15, SIGRTMIN+3, Sigrtminplus3: the number, or null.</summary>
    public static uint? Parse(string text)
    {
        if (uint.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number))
            return number is >= 1 and <= 64 ? number : null;
        var name = text.ToUpperInvariant();
        if (name.StartsWith("SIG", StringComparison.Ordinal))
            name = name[3..];
        name = name.Replace("PLUS", "+", StringComparison.Ordinal);
        if (name.StartsWith("RTMIN+", StringComparison.Ordinal)
            && uint.TryParse(name[6..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var offset))
            return 34 + offset <= 64 ? 34 + offset : null;
        if (name.StartsWith("RTMAX-", StringComparison.Ordinal)
            && uint.TryParse(name[6..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var below))
            return below <= 30 ? 64 - below : null;
        if (name == "RTMAX")
            return 64;
        return Numbers.TryGetValue(name, out var known) ? known : null;
    }
}
