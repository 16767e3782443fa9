namespace Containerd.Shim.Runc;

/// <summary>
/// CRIU's own reason for a failed checkpoint or restore. runc reports only
/// "criu failed: type DUMP errno 0\nlog file: WORK/dump.log"; the why (e.g.
/// "vdso: Failed to fill self vdso symtable" on a kernel CRIU does not
/// support) is in that log, as lines <c>(00.023508) Error (file.c:613): words</c>.
/// It must be read before the work directory is removed.
/// </summary>
internal static class CriuLog
{
    /// <summary>How many of the last error lines are quoted: CRIU's final ones say why; earlier ones are usually noise.</summary>
    public const int QuotedLines = 3;

    private const string LogFileMarker = "log file: ";

    /// <summary>
    /// runc's failure with CRIU's last error lines appended (unchanged when
    /// runc's words do not point at CRIU or its log has no error line).
    /// </summary>
    /// <param name="workPath">Where to look for a *.log when runc's words name none.</param>
    public static RuncException Explain(RuncException failure, string workPath)
    {
        var log = LogFileOf(failure.Message) ?? NewestLog(workPath);
        if (log is null)
            return failure;
        string text;
        try
        {
            text = File.ReadAllText(log);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return failure;
        }
        var errors = LastErrors(text, QuotedLines);
        if (errors.Count == 0)
            return failure;
        var runcWords = string.Join(' ', failure.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        return new RuncException(failure.Command, $"{runcWords}: criu: {string.Join("; ", errors)}", failure.ExitStatus);
    }

    /// <summary>The path after "log file: " in runc's words, or null.</summary>
    public static string? LogFileOf(string runcMessage)
    {
        var at = runcMessage.LastIndexOf(LogFileMarker, StringComparison.Ordinal);
        if (at < 0)
            return null;
        var rest = runcMessage[(at + LogFileMarker.Length)..];
        var end = rest.IndexOfAny(['\n', '\r']);
        var path = (end < 0 ? rest : rest[..end]).Trim();
        return path.Length == 0 ? null : path;
    }

    /// <summary>
    /// The last <paramref name="max"/> distinct lines that start with "Error"
    /// once CRIU's "(seconds)" timestamp is cut off, oldest first.
    /// </summary>
    public static List<string> LastErrors(string log, int max)
    {
        var errors = new List<string>();
        foreach (var raw in log.Split('\n'))
        {
            var line = WithoutTimestamp(raw.Trim());
            if (line.StartsWith("Error", StringComparison.Ordinal))
            {
                errors.Remove(line);
                errors.Add(line);
            }
        }
        return errors.Count > max ? errors.GetRange(errors.Count - max, max) : errors;
    }

    private static string WithoutTimestamp(string line)
    {
        if (!line.StartsWith('('))
            return line;
        var close = line.IndexOf(')', StringComparison.Ordinal);
        return close < 0 ? line : line[(close + 1)..].TrimStart();
    }

    private static string? NewestLog(string workPath)
    {
        try
        {
            var work = new DirectoryInfo(workPath);
            return work.Exists ? work.EnumerateFiles("*.log").OrderByDescending(f => f.LastWriteTimeUtc).FirstOrDefault()?.FullName : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
