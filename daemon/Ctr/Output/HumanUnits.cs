using System.Globalization;

namespace Containerd.Ctr.Output;

/// <summary>
/// Sizes and ages as containerd's ctr prints them (docker/go-units' HumanSize
/// and HumanDuration), so scripts and eyes used to its tables read ours.
/// </summary>
public static class HumanUnits
{
    private static readonly string[] DecimalUnits = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];

    /// <summary>Decimal units, four significant digits, no space: <c>1.235kB</c>, <c>12B</c>.</summary>
    public static string Size(long bytes)
    {
        double size = bytes;
        var unit = 0;
        while (size >= 1000 && unit < DecimalUnits.Length - 1)
        {
            size /= 1000;
            unit++;
        }
        return size.ToString("G4", CultureInfo.InvariantCulture) + DecimalUnits[unit];
    }

    /// <summary>An approximate age: <c>Less than a second</c>, <c>3 minutes</c>, <c>About an hour</c>, <c>2 weeks</c>.</summary>
    public static string Duration(TimeSpan duration)
    {
        var seconds = (long)duration.TotalSeconds;
        var minutes = (long)duration.TotalMinutes;
        var hours = (long)(duration.TotalHours + 0.5);
        return duration.TotalSeconds switch
        {
            < 1 => "Less than a second",
            _ when seconds == 1 => "1 second",
            < 60 => $"{seconds} seconds",
            _ when minutes == 1 => "About a minute",
            _ when minutes < 60 => $"{minutes} minutes",
            _ when hours == 1 => "About an hour",
            _ when hours < 48 => $"{hours} hours",
            _ when hours < 24 * 7 * 2 => $"{hours / 24} days",
            _ when hours < 24 * 30 * 2 => $"{hours / 24 / 7} weeks",
            _ when hours < 24 * 365 * 2 => $"{hours / 24 / 30} months",
            _ => $"{(long)(duration.TotalHours / 24 / 365)} years",
        };
    }
}
