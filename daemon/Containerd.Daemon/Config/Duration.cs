using System.Globalization;

namespace Containerd.Daemon.Config;

/// <summary>
/// Durations as the configuration file writes them: Go-style strings ("500ms", "10s",
/// "1m30s", "1.5s", "2h") as containerd's own config uses, or a TOML integer of milliseconds.
/// </summary>
public static class Duration
{
    // Past about 24.8 days CancelAfter and timers throw; a day is already far beyond any sane wait.
    public static readonly TimeSpan Max = TimeSpan.FromHours(24);

    /// <summary>Parses a duration string; null when it is not one.</summary>
    public static TimeSpan? TryParse(string text)
    {
        if (text.Length == 0)
            return null;
        decimal milliseconds = 0;
        var i = 0;
        while (i < text.Length)
        {
            var start = i;
            while (i < text.Length && (char.IsAsciiDigit(text[i]) || text[i] == '.'))
                i++;
            if (i == start || !decimal.TryParse(text.AsSpan(start, i - start), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
                return null;
            var unitStart = i;
            while (i < text.Length && char.IsAsciiLetterLower(text[i]))
                i++;
            decimal? scale = text[unitStart..i] switch
            {
                "ms" => 1m,
                "s" => 1000m,
                "m" => 60_000m,
                "h" => 3_600_000m,
                _ => null,
            };
            if (scale is null || number > 1_000_000_000m)
                return null;
            milliseconds += number * scale.Value;
        }
        return milliseconds > (decimal)Max.TotalMilliseconds * 2
            ? Max + Max // out of range, reported as such by the caller rather than as unparsable
            : TimeSpan.FromMilliseconds((double)Math.Round(milliseconds));
    }

    /// <summary>The shortest exact string for a whole number of milliseconds, e.g. "10s", "100ms", "2m".</summary>
    public static string Format(TimeSpan value)
    {
        var ms = (long)value.TotalMilliseconds;
        if (ms != 0 && ms % 3_600_000 == 0)
            return $"{ms / 3_600_000}h";
        if (ms != 0 && ms % 60_000 == 0)
            return $"{ms / 60_000}m";
        if (ms != 0 && ms % 1000 == 0)
            return $"{ms / 1000}s";
        return $"{ms}ms";
    }
}
