namespace Containerd.Shim.Runc;

/// <summary>runc failed; <see cref="Exception.Message"/> is runc's own error text.</summary>
internal sealed class RuncException(string command, string message, int exitStatus) : Exception(message)
{
    public string Command { get; } = command;

    /// <summary>runc's exit status, or -1 when it could not be started.</summary>
    public int ExitStatus { get; } = exitStatus;

    /// <summary>runc reports an unknown container this way (e.g. after a forced delete).</summary>
    public bool ContainerMissing => Message.Contains("does not exist", StringComparison.Ordinal);

    /// <summary>The container (or process) is no longer running.</summary>
    public bool NotRunning =>
        Message.Contains("not running", StringComparison.Ordinal)
        || Message.Contains("process already finished", StringComparison.Ordinal)
        || Message.Contains("no such process", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// CRIU refused a checkpoint or restore. FailedPrecondition rather than
    /// Internal: nothing is broken in the daemon, shim or runc; the host
    /// (a kernel CRIU cannot work with, as "vdso: Failed to fill self vdso
    /// symtable" here) or the container (an established TCP connection without
    /// allow_tcp, an external unix socket, ...) is not in a condition CRIU
    /// can handle, and retrying unchanged cannot help. The message carries
    /// CRIU's own reason (see <see cref="CriuLog"/>).
    /// </summary>
    public bool CriuFailed => Message.Contains("criu failed", StringComparison.Ordinal);

    /// <summary>The request cannot work in the container's current condition (as opposed to a runc fault).</summary>
    public bool IsPrecondition =>
        NotRunning
        || CriuFailed
        || Message.Contains("executable file not found", StringComparison.Ordinal)
        || Message.Contains("no such file or directory", StringComparison.OrdinalIgnoreCase)
        || Message.Contains("permission denied", StringComparison.OrdinalIgnoreCase)
        || Message.Contains("is paused", StringComparison.Ordinal)
        || Message.Contains("not paused", StringComparison.Ordinal)
        || Message.Contains("is stopped", StringComparison.Ordinal)
        || Message.Contains("cannot allocate tty", StringComparison.Ordinal);
}
