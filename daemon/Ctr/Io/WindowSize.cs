using Containerd.Ctr.Native;

namespace Containerd.Ctr.Io;

/// <summary>The size of ctr's own terminal, in character cells.</summary>
internal readonly record struct WindowSize(uint Width, uint Height)
{
    /// <summary>Asks stdin, then stdout (one of them may be redirected); null when neither is a terminal.</summary>
    public static unsafe WindowSize? Current()
    {
        foreach (var fd in (ReadOnlySpan<int>)[TerminalNative.StdinFd, TerminalNative.StdoutFd])
        {
            TerminalNative.WinSize size;
            if (TerminalNative.IoctlWinSize(fd, TerminalNative.TIOCGWINSZ, &size) == 0 && size.Columns > 0 && size.Rows > 0)
                return new WindowSize(size.Columns, size.Rows);
        }
        return null;
    }
}
