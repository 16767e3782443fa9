using System.Globalization;

namespace Containerd.Daemon.Shims;

/// <summary>
/// What <c>containerd-shim delete</c> printed on success: one line
/// <c>STATUS INIT-PID EXIT-STATUS</c>, e.g. <c>running 4242 137</c> or <c>none 0 255</c>.
/// </summary>
/// <param name="RuntimeStatus">
/// The container's status as runc reported it before the forced delete
/// ("created", "running", "paused", "stopped"...), or null ("none") when runc had no such container.
/// </param>
/// <param name="InitPid">The init's pid as runc reported it; 0 when unknown.</param>
/// <param name="ExitStatus">
/// The init's exit as well as the shim could tell: 137 when the forced delete
/// SIGKILLed a live container, else 255 (unknown).
/// </param>
public sealed record ShimDeleteResult(string? RuntimeStatus, int InitPid, uint ExitStatus)
{
    private const string NoContainer = "none";

    /// <summary>runc still had the container: its task ended only now, so it is worth a tombstone.</summary>
    public bool ContainerExisted => RuntimeStatus is not null;

    /// <summary>Parses the command's stdout; false (and a reason) when it is not the one line the contract promises.</summary>
    public static bool TryParse(string stdout, out ShimDeleteResult result, out string error)
    {
        result = new ShimDeleteResult(null, 0, 0);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (lines.Length != 1)
        {
            error = $"expected one line, got {lines.Length}: \"{stdout.Trim()}\"";
            return false;
        }
        var fields = lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length != 3)
        {
            error = $"expected \"STATUS PID EXIT\", got \"{lines[0]}\"";
            return false;
        }
        if (!fields[0].All(char.IsAsciiLetterLower))
        {
            error = $"status \"{fields[0]}\" is not a word";
            return false;
        }
        if (!int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
        {
            error = $"pid \"{fields[1]}\" is not a number";
            return false;
        }
        if (!uint.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out var exitStatus))
        {
            error = $"exit status \"{fields[2]}\" is not a number";
            return false;
        }
        result = new ShimDeleteResult(fields[0] == NoContainer ? null : fields[0], pid, exitStatus);
        error = "";
        return true;
    }
}
