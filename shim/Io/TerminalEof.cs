using Containerd.Shim.Native;

namespace Containerd.Shim.Io;

/// <summary>
/// End of input for a terminal process. A pty has no "writer closed": the
/// process reads EOF only when the line discipline sees the terminal's VEOF
/// character (^D) at the start of a line. A VEOF after a partial line only
/// hands that line to the reader, so it takes a second one for the EOF.
/// </summary>
internal static unsafe class TerminalEof
{
    /// <summary>^D, the default VEOF, for a terminal whose settings cannot be read (or have VEOF disabled).</summary>
    public const byte DefaultVeof = 0x04;

    /// <summary>
    /// What to write after the forwarded input: one VEOF when nothing was
    /// forwarded or the last byte ended a line, else two.
    /// </summary>
    /// <param name="lastForwarded">The last byte forwarded, or -1 when none was.</param>
    public static byte[] Sequence(byte veof, int lastForwarded) =>
        lastForwarded is -1 or '\n' or '\r' ? [veof] : [veof, veof];

    /// <summary><see cref="Sequence"/> with the VEOF the terminal behind <paramref name="masterFd"/> uses now.</summary>
    public static byte[] For(int masterFd, int lastForwarded) => Sequence(ReadVeof(masterFd), lastForwarded);

    /// <summary>The terminal's VEOF character (tcgetattr works on the master too); ^D when unknown or disabled.</summary>
    public static byte ReadVeof(int masterFd)
    {
        Posix.Termios termios;
        if (Posix.TcGetAttr(masterFd, &termios) != 0)
            return DefaultVeof;
        var veof = termios.ControlChars[Posix.VEOF];
        // _POSIX_VDISABLE is 0 on Linux.
        return veof == 0 ? DefaultVeof : veof;
    }
}
