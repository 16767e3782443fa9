namespace Containerd.Ctr.Cli;

/// <summary>A user-facing error: printed as <c>ctr: message</c> with no stack trace; ctr exits with <see cref="ExitCode"/>.</summary>
public sealed class CtrException(string message, int exitCode = 1) : Exception(message)
{
    /// <summary>130 for an interruption (128 + SIGINT, as shells report it), else 1.</summary>
    public int ExitCode { get; } = exitCode;

    public static CtrException Interrupted() => new("interrupted", 130);
}
