namespace Containerd.Ctr.Io;

/// <summary>Decides whether ctr's own stdin should be forwarded to a container process.</summary>
public static class StdinSource
{
    /// <summary>
    /// Without -t only a pipe or a file is forwarded: a terminal's keys need
    /// a pty on the other end (-t), and /dev/null or a closed stdin has nothing to give,
    /// so the process gets no stdin at all and never waits for input.
    /// </summary>
    public static bool ShouldForward()
    {
        if (!Console.IsInputRedirected)
            return false;
        try
        {
            var target = new FileInfo("/proc/self/fd/0").LinkTarget;
            return target is not null && target != "/dev/null";
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }
}
