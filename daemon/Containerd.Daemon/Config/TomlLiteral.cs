using System.Text;

namespace Containerd.Daemon.Config;

/// <summary>TOML literals for the values the configuration holds (strings only).</summary>
public static class TomlLiteral
{
    /// <summary>A TOML basic string: quoted, with the characters TOML requires escaped.</summary>
    public static string String(string value)
    {
        var text = new StringBuilder(value.Length + 2).Append('"');
        foreach (var c in value)
        {
            _ = c switch
            {
                '"' => text.Append("\\\""),
                '\\' => text.Append("\\\\"),
                '\n' => text.Append("\\n"),
                '\t' => text.Append("\\t"),
                '\r' => text.Append("\\r"),
                < ' ' or '\u007f' => text.Append($"\\u{(int)c:X4}"),
                _ => text.Append(c),
            };
        }
        return text.Append('"').ToString();
    }
}
