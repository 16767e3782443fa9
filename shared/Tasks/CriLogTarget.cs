namespace Containerd.Shared.Tasks;

/// <summary>
/// The stdio target that makes the shim write a stream to a file in the CRI
/// log format (<c>&lt;RFC3339Nano time&gt; stdout|stderr F|P &lt;line&gt;</c>)
/// instead of copying its bytes to a FIFO or file. A Tasks API Create or Exec
/// gives it as the stdout and/or stderr value: <c>crilog:///var/log/pods/x/c/0.log</c>
/// (<see cref="Scheme"/> followed by an absolute path). The shim writes the
/// records itself, so none is lost while the daemon restarts, and reopens the
/// file by path on ReopenLog (log rotation). One definition for the daemon,
/// which refuses a malformed value before it makes anything, and the shim.
/// </summary>
public static class CriLogTarget
{
    /// <summary>What a target starts with; the absolute path follows (so three slashes in all).</summary>
    public const string Scheme = "crilog://";

    // Anything that claims the scheme is judged by it: "crilog:/x" or "crilog:x" is a typo, never a file name.
    private const string SchemeName = "crilog:";

    /// <summary>The target for <paramref name="absolutePath"/>, e.g. for the CRI's log_path.</summary>
    /// <exception cref="ArgumentException">The path is not absolute.</exception>
    public static string For(string absolutePath)
    {
        var value = Scheme + absolutePath;
        if (TryParse(value, out _, out var problem) is not true)
            throw new ArgumentException(problem ?? $"{absolutePath} is not an absolute path", nameof(absolutePath));
        return value;
    }

    /// <summary>Whether a stdio value is meant as a CRI log target (valid or not).</summary>
    public static bool Is(string? value) => value is not null && value.StartsWith(SchemeName, StringComparison.Ordinal);

    /// <summary>
    /// Reads a stdio value: null when it is not a CRI log target (a FIFO, a
    /// file, empty), true with the file's path when it is a valid one, false
    /// with a problem naming the value when it claims the scheme but is
    /// malformed.
    /// </summary>
    public static bool? TryParse(string? value, out string path, out string? problem)
    {
        path = "";
        problem = null;
        if (!Is(value))
            return null;
        if (!value!.StartsWith(Scheme, StringComparison.Ordinal))
        {
            problem = $"CRI log target \"{value}\" must be {Scheme} followed by an absolute path";
            return false;
        }
        var rest = value[Scheme.Length..];
        if (rest.Length < 2 || rest[0] != '/')
        {
            problem = $"CRI log target \"{value}\" must name an absolute file path after {Scheme}";
            return false;
        }
        if (rest.Contains('\0', StringComparison.Ordinal))
        {
            problem = $"CRI log target \"{value}\" contains a NUL character";
            return false;
        }
        if (rest.EndsWith('/'))
        {
            problem = $"CRI log target \"{value}\" names a directory, not a file";
            return false;
        }
        path = rest;
        return true;
    }

    /// <summary>
    /// Checks the stdio of a Create or Exec; the problem (null when none)
    /// names the stream and the value. A terminal's output is logged as
    /// stdout, so the stderr value of a terminal process is never used (as
    /// for any target), but it is still checked.
    /// </summary>
    public static string? Check(string stdin, string stdout, string stderr)
    {
        if (Is(stdin))
            return $"stdin \"{stdin}\" cannot be a CRI log target: only stdout and stderr are written to a log";
        if (TryParse(stdout, out _, out var problem) is false)
            return $"stdout: {problem}";
        if (TryParse(stderr, out _, out problem) is false)
            return $"stderr: {problem}";
        return null;
    }
}
