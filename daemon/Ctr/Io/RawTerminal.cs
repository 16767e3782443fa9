using System.Runtime.InteropServices;
using Containerd.Ctr.Native;
using Containerd.Shared.Native;

namespace Containerd.Ctr.Io;

/// <summary>
/// ctr's own terminal (its stdin) with changed settings, typically raw mode
/// while a container's pty is attached: every key, Ctrl-C included, reaches
/// the container as a byte, and the container's line discipline does the echo
/// and the editing. Disposing restores the saved settings; so does process
/// exit, as a last resort.
/// </summary>
internal sealed unsafe class RawTerminal : IDisposable
{
    private readonly int _fd;
    private readonly TerminalNative.Termios _saved;
    private readonly TerminalNative.Termios _changed;
    private readonly PosixSignalRegistration _continued;
    private readonly Lock _lock = new();
    private bool _restored;

    private RawTerminal(int fd, TerminalNative.Termios saved, TerminalNative.Termios changed)
    {
        _fd = fd;
        _saved = saved;
        _changed = changed;
        // A path that skips Dispose (an exception escaping Main, Environment.Exit)
        // must still not leave the user's shell in raw mode.
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
        // After a stop and continue, .NET would put back the settings it saw at
        // start-up (cooked); cancelling its handling and re-applying ours keeps the session raw.
        _continued = PosixSignalRegistration.Create(PosixSignal.SIGCONT, context =>
        {
            context.Cancel = true;
            Reapply();
        });
    }

    /// <summary>Puts stdin into raw mode if it is a terminal; null (nothing to restore) if it is not.</summary>
    public static RawTerminal? EnterIfTerminal() => Change(&MakeRaw);

    /// <summary>
    /// For attaching a terminal to a process without one: the line discipline
    /// stays (echo, editing, Ctrl-C), only output flow control goes, because
    /// it would swallow the Ctrl-Q of the detach keys (which then arrive with the next Enter).
    /// </summary>
    public static RawTerminal? DisableFlowControlIfTerminal() => Change(&DisableFlowControl);

    private static void MakeRaw(TerminalNative.Termios* termios)
    {
        TerminalNative.CfMakeRaw(termios);
        // As containerd's console package does: keep output processing, so that
        // ctr's own messages (and "\n"-only output) still start at column 0.
        termios->OFlag |= TerminalNative.OPOST;
    }

    private static void DisableFlowControl(TerminalNative.Termios* termios) => termios->IFlag &= ~TerminalNative.IXON;

    private static RawTerminal? Change(delegate*<TerminalNative.Termios*, void> change)
    {
        if (!TerminalNative.IsTerminal(TerminalNative.StdinFd))
            return null;
        TerminalNative.Termios saved;
        if (TerminalNative.TcGetAttr(TerminalNative.StdinFd, &saved) != 0)
            return null;
        var raw = saved;
        change(&raw);
        var terminal = new RawTerminal(TerminalNative.StdinFd, saved, raw);
        if (TerminalNative.TcSetAttr(TerminalNative.StdinFd, TerminalNative.TCSANOW, &raw) != 0)
        {
            var errno = Libc.LastError;
            terminal.Dispose();
            throw new IOException($"cannot change the terminal's settings: {Libc.ErrorText(errno)}");
        }
        return terminal;
    }

    public void Dispose()
    {
        _continued.Dispose();
        Restore();
        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
    }

    private void OnProcessExit(object? sender, EventArgs e) => Restore();

    private void Reapply()
    {
        lock (_lock)
        {
            if (_restored)
                return;
            var changed = _changed;
            TerminalNative.TcSetAttr(_fd, TerminalNative.TCSANOW, &changed);
        }
    }

    private void Restore()
    {
        lock (_lock)
        {
            if (_restored)
                return;
            _restored = true;
            var saved = _saved;
            TerminalNative.TcSetAttr(_fd, TerminalNative.TCSANOW, &saved);
        }
    }
}
