namespace Containerd.Shim.Runc;

/// <summary>
/// What a failed runc call reports, best first: the error runc wrote to its
/// log; else what it printed on stderr; else why its log could not be
/// written (ENOSPC on a full disk: runc then often dies before saying
/// anything); else only its exit status.
/// </summary>
internal static class RuncFailure
{
    public static string Describe(string command, int exitStatus, string? logWords, string? stderrText, string? logWriteError)
    {
        if (!string.IsNullOrWhiteSpace(logWords))
            return logWords.Trim();
        if (!string.IsNullOrWhiteSpace(stderrText))
            return stderrText.Trim();
        if (!string.IsNullOrWhiteSpace(logWriteError))
            return $"runc {command} exited with status {exitStatus}: {logWriteError.Trim()}";
        return $"runc {command} exited with status {exitStatus}";
    }
}
