namespace Containerd.Daemon.Config;

/// <summary>
/// The configuration file cannot be used. The message is one line in the form
/// compilers use, <c>FILE:LINE: what</c>, so an operator (or an editor) goes straight to it.
/// </summary>
public sealed class ConfigFileException : Exception
{
    public ConfigFileException(string source, int? line, string detail)
        : base(line is { } l ? $"{source}:{l}: {detail}" : $"{source}: {detail}")
    {
        SourceName = source;
        Line = line;
        Detail = detail;
    }

    /// <summary>The file (or the name given to text that did not come from a file).</summary>
    public string SourceName { get; }

    /// <summary>1-based, or null when the problem is the file as a whole.</summary>
    public int? Line { get; }

    public string Detail { get; }
}
