using System.Runtime.InteropServices;

namespace Containerd.Ctr.Native;

/// <summary>
/// The termios and window-size calls ctr needs for <c>-t</c> and attach. Kept
/// in ctr (not shared/) because only an interactive client puts its own
/// terminal into raw mode. Source-generated P/Invoke keeps it Native-AOT clean.
/// </summary>
internal static unsafe partial class TerminalNative
{
    public const int StdinFd = 0;
    public const int StdoutFd = 1;

    /// <summary>tcsetattr: apply now (not after output drained, which could wait on a stalled terminal).</summary>
    public const int TCSANOW = 0;

    /// <summary>c_oflag bit that lets the terminal translate "\n" to "\r\n".</summary>
    public const uint OPOST = 0x1;

    /// <summary>c_iflag bit for XON/XOFF output flow control (Ctrl-S/Ctrl-Q).</summary>
    public const uint IXON = 0x400;

    /// <summary>Same number on x86_64 and arm64 (asm-generic ioctls).</summary>
    public const nuint TIOCGWINSZ = 0x5413;

    /// <summary>
    /// glibc's struct termios (60 bytes on x86_64 and arm64): four flag words,
    /// then c_line, c_cc[32] and the two speeds, which ctr never touches. The
    /// tail is a little larger than needed so a libc that writes more is harmless.
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Termios
    {
        public uint IFlag;
        public uint OFlag;
        public uint CFlag;
        public uint LFlag;
        public fixed byte Rest[64];
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct WinSize
    {
        public ushort Rows;
        public ushort Columns;
        public ushort XPixels;
        public ushort YPixels;
    }

    [LibraryImport("libc", EntryPoint = "isatty")]
    public static partial int IsATty(int fd);

    [LibraryImport("libc", EntryPoint = "tcgetattr", SetLastError = true)]
    public static partial int TcGetAttr(int fd, Termios* termios);

    [LibraryImport("libc", EntryPoint = "tcsetattr", SetLastError = true)]
    public static partial int TcSetAttr(int fd, int optionalActions, Termios* termios);

    [LibraryImport("libc", EntryPoint = "cfmakeraw")]
    public static partial void CfMakeRaw(Termios* termios);

    /// <summary>ioctl is variadic; one pointer argument is passed the same way as a fixed one on x86_64 and arm64 Linux.</summary>
    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int IoctlWinSize(int fd, nuint request, WinSize* size);

    public static bool IsTerminal(int fd) => IsATty(fd) == 1;
}
