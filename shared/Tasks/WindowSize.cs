namespace Containerd.Shared.Tasks;

/// <summary>
/// A terminal size as Pty / ResizePty ask for it (width = columns, height =
/// rows), checked once in one place for the daemon and the shim alike:
/// struct winsize holds 16-bit values, and a zero size is never meant.
/// </summary>
public readonly record struct WindowSize(ushort Columns, ushort Rows)
{
    /// <summary>The size, or null and why not.</summary>
    public static WindowSize? TryCreate(uint width, uint height, out string? problem)
    {
        problem = (width, height) switch
        {
            (0, _) or (_, 0) => $"width and height must not be 0 (got width {width}, height {height})",
            ( > ushort.MaxValue, _) or (_, > ushort.MaxValue) =>
                $"width and height must be at most {ushort.MaxValue} (got width {width}, height {height})",
            _ => null,
        };
        return problem is null ? new WindowSize((ushort)width, (ushort)height) : null;
    }
}
