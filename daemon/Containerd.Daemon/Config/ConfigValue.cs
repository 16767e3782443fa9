using Tomlyn.Syntax;

namespace Containerd.Daemon.Config;

/// <summary>
/// One value from the file, read as the type its key wants. Every failure is a
/// <see cref="ConfigValueException"/> that quotes the value; the parser adds where it is.
/// </summary>
public sealed class ConfigValue(ValueSyntax syntax)
{
    public string String() => syntax is StringValueSyntax { Value: { } text }
        ? text
        : throw new ConfigValueException($"expected a string, not {Describe()}");

    public string NonEmptyString()
    {
        var text = String();
        return text.Length > 0 ? text : throw new ConfigValueException("must not be empty");
    }

    public string AbsolutePath()
    {
        var text = String();
        // Relative paths would depend on the daemon's working directory, which systemd sets to /.
        return Path.IsPathRooted(text) ? Path.GetFullPath(text) : throw new ConfigValueException($"\"{text}\" is not an absolute path");
    }

    /// <summary>Absolute paths separated by ':' (as PATH), at least one.</summary>
    public string AbsolutePathList()
    {
        var parts = NonEmptyString().Split(':', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0)
            throw new ConfigValueException("must name at least one directory");
        foreach (var part in parts)
        {
            if (!Path.IsPathRooted(part))
                throw new ConfigValueException($"\"{part}\" is not an absolute path");
        }
        return string.Join(':', parts.Select(Path.GetFullPath));
    }

    public string OneOf(IReadOnlyList<string> allowed)
    {
        var text = String();
        return allowed.Contains(text)
            ? text
            : throw new ConfigValueException($"\"{text}\" is not one of {string.Join(", ", allowed)}");
    }

    /// <summary>A duration string ("10s", "500ms", "1m30s") or an integer number of milliseconds.</summary>
    public TimeSpan Duration()
    {
        TimeSpan value;
        string shown;
        switch (syntax)
        {
            case IntegerValueSyntax integer:
                shown = integer.Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
                value = integer.Value > (long)Config.Duration.Max.TotalMilliseconds
                    ? Config.Duration.Max + Config.Duration.Max
                    : TimeSpan.FromMilliseconds(integer.Value);
                break;
            case StringValueSyntax { Value: { } text }:
                shown = $"\"{text}\"";
                value = Config.Duration.TryParse(text) ?? throw new ConfigValueException($"{shown} is not a duration");
                break;
            default:
                throw new ConfigValueException($"expected a duration (\"10s\", \"500ms\") or milliseconds, not {Describe()}");
        }
        if (value < TimeSpan.FromMilliseconds(1) || value > Config.Duration.Max)
            throw new ConfigValueException($"{shown} is out of range (1ms to {Config.Duration.Format(Config.Duration.Max)})");
        return value;
    }

    private string Describe() => syntax switch
    {
        StringValueSyntax => "a string",
        IntegerValueSyntax i => $"the integer {i.Value}",
        FloatValueSyntax => "a float",
        BooleanValueSyntax => "a boolean",
        ArraySyntax => "an array",
        InlineTableSyntax => "a table",
        DateTimeValueSyntax => "a date-time",
        _ => "this value",
    };
}
