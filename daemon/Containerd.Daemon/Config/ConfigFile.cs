using System.Text;
using Tomlyn.Parsing;
using Tomlyn.Syntax;

namespace Containerd.Daemon.Config;

/// <summary>
/// Reads and writes the daemon's configuration file. It works on Tomlyn's syntax tree,
/// not its object mapper: that keeps the daemon free of reflection (it is published
/// Native AOT) and gives every key its line, so each error names the line to fix.
/// </summary>
public static class ConfigFile
{
    /// <summary>
    /// Reads <paramref name="path"/>. A missing file is an error only when
    /// <paramref name="required"/> (named with --config); the default path may be absent.
    /// </summary>
    public static async Task<DaemonConfig> LoadAsync(string path, bool required, CancellationToken cancellationToken)
    {
        string text;
        try
        {
            text = await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            if (required)
                throw new ConfigFileException(path, null, "no such file");
            return DaemonConfig.Default;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigFileException(path, null, e.Message);
        }
        return Parse(text, path);
    }

    /// <summary>Parses a configuration; keys the text leaves out keep their defaults.</summary>
    public static DaemonConfig Parse(string text, string sourceName)
    {
        var document = SyntaxParser.Parse(text, sourceName, validate: true);
        foreach (var diagnostic in document.Diagnostics)
        {
            if (diagnostic.Kind == DiagnosticMessageKind.Error)
                throw new ConfigFileException(sourceName, LineOf(diagnostic.Span), diagnostic.Message);
        }

        var config = DaemonConfig.Default;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var keyValue in document.KeyValues)
            config = Apply(config, "", keyValue, seen, sourceName);
        foreach (var table in document.Tables)
        {
            var name = table.Name is { } key ? KeyName(key) : "";
            if (table is TableArraySyntax || !ConfigKeys.Tables.Contains(name))
                throw new ConfigFileException(sourceName, LineOf(table.Span), $"unknown table \"{name}\"");
            foreach (var keyValue in table.Items)
                config = Apply(config, name + ".", keyValue, seen, sourceName);
        }
        return config;
    }

    /// <summary>
    /// The file that states <paramref name="config"/> in full, every key with a comment:
    /// <c>containerd config default</c> prints it for <see cref="DaemonConfig.Default"/>.
    /// </summary>
    public static string Render(DaemonConfig config)
    {
        var text = new StringBuilder();
        text.Append("# containerd (C#) configuration, read from ").Append(DaemonConfig.DefaultPath).AppendLine(" or --config FILE.")
            .AppendLine("# Every key is optional (a missing key keeps the default shown here); a command-line")
            .AppendLine("# flag overrides its key. An unknown key or a bad value stops the daemon.")
            .AppendLine("# Durations are strings such as \"500ms\", \"10s\", \"1m30s\", or integers of milliseconds.");
        foreach (var group in ConfigKeys.All.GroupBy(k => k.Table))
        {
            if (group.Key.Length > 0)
                text.AppendLine().Append('[').Append(group.Key).AppendLine("]");
            foreach (var key in group)
            {
                text.AppendLine().Append("# ").AppendLine(key.Comment)
                    .Append(key.LocalName).Append(" = ").AppendLine(key.Literal(config));
            }
        }
        return text.ToString();
    }

    private static DaemonConfig Apply(DaemonConfig config, string prefix, KeyValueSyntax keyValue, HashSet<string> seen, string sourceName)
    {
        var line = LineOf(keyValue.Span);
        var name = prefix + (keyValue.Key is { } key ? KeyName(key) : "");
        if (ConfigKeys.Find(name) is not { } known)
        {
            var detail = ConfigKeys.Tables.Contains(name)
                ? $"\"{name}\" is a table: write [{name}] and its keys below it"
                : $"unknown key \"{name}\"";
            throw new ConfigFileException(sourceName, line, detail);
        }
        if (!seen.Add(name))
            throw new ConfigFileException(sourceName, line, $"duplicate key \"{name}\"");
        if (keyValue.Value is not { } value)
            throw new ConfigFileException(sourceName, line, $"{name}: missing value");
        try
        {
            return known.Apply(config, new ConfigValue(value));
        }
        catch (ConfigValueException e)
        {
            throw new ConfigFileException(sourceName, line, $"{name}: {e.Message}");
        }
    }

    private static string KeyName(KeySyntax key)
    {
        var parts = new List<string> { KeyPart(key.Key) };
        foreach (var dotted in key.DotKeys)
            parts.Add(KeyPart(dotted.Key));
        return string.Join('.', parts);
    }

    private static string KeyPart(SyntaxNode? part) => part switch
    {
        BareKeySyntax { Key.Text: { } text } => text,
        StringValueSyntax { Value: { } text } => text,
        _ => "",
    };

    // Tomlyn counts lines from 0; editors and compilers from 1.
    private static int LineOf(SourceSpan span) => span.Start.Line + 1;
}
