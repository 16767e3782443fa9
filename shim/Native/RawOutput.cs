using System.Text;
using Containerd.Shared.Native;

namespace Containerd.Shim.Native;

/// <summary>
/// Writes straight to fd 1 or 2. System.Console is never touched: it keeps
/// its own dup of the fd, which would hold the parent's pipe open after the
/// server detached its stdio.
/// </summary>
internal static class RawOutput
{
    public const int Stdout = 1;
    public const int Stderr = 2;

    public static unsafe void Write(int fd, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        fixed (byte* p = bytes)
        {
            var written = 0;
            while (written < bytes.Length)
            {
                var n = Libc.Write(fd, p + written, bytes.Length - written);
                if (n < 0 && Libc.LastError == Libc.EINTR)
                    continue;
                if (n <= 0)
                    return;
                written += (int)n;
            }
        }
    }
}
