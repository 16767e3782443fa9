using Containerd.Ctr.Native;
using Containerd.Shared.Native;

namespace Containerd.Ctr.Io;

/// <summary>
/// ctr's own terminal (its stdin) in raw mode while a container's pty is
/// attached: every key, Ctrl-C included, reaches the container as a byte, and
/// the container's line discipline does the echo and the editing. Disposing
/// restores the saved settings; so does process exit, as a last resort.
/// </summary>
internal sealed unsafe class RawTerminal : IDisposable
{
    private readonly int _fd;
    private readonly TerminalNative.Termios _saved;
    private int _restored;

    private RawTerminal(int fd, TerminalNative.Termios saved)
    {
        _fd = fd;
        _saved = saved;
        // A path that skips Dispose (an exception escaping Main, Environment.Exit)
        // must still not leave the user's shell in raw mode.
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
    }

    /// <summary>Puts stdin into raw mode if it is a terminal; null (nothing to restore) if it is not.</summary>
    public static RawTerminal? EnterIfTerminal()
    {
        if (!TerminalNative.IsTerminal(TerminalNative.StdinFd))
            return null;
        TerminalNative.Termios saved;
        if (TerminalNative.TcGetAttr(TerminalNative.StdinFd, &saved) != 0)
            return null;
        var raw = saved;
        TerminalNative.CfMakeRaw(&raw);
        // As containerd's console package does: keep output processing, so that
        // ctr's own messages (and "\n"-only output) still start at column 0.
        raw.OFlag |= TerminalNative.OPOST;
        var terminal = new RawTerminal(TerminalNative.StdinFd, saved);
        if (TerminalNative.TcSetAttr(TerminalNative.StdinFd, TerminalNative.TCSANOW, &raw) != 0)
        {
            var errno = Libc.LastError;
            terminal.Dispose();
            throw new IOException($"cannot put the terminal into raw mode: {Libc.ErrorText(errno)}");
        }
        return terminal;
    }

    public void Dispose()
    {
        Restore();
        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
    }

    private void OnProcessExit(object? sender, EventArgs e) => Restore();

    private void Restore()
    {
        if (Interlocked.Exchange(ref _restored, 1) != 0)
            return;
        var saved = _saved;
        TerminalNative.TcSetAttr(_fd, TerminalNative.TCSANOW, &saved);
    }
}
