using System.Runtime.InteropServices;
using System.Text;

namespace Containerd.LeanGrpc.Transport;

/// <summary>
/// The few system calls the loop needs. Plain file descriptors instead of
/// System.Net.Sockets: the socket engine would add its own epoll thread and
/// per-operation state, and the loop already waits in poll(2).
/// </summary>
internal static unsafe partial class Libc
{
    public const int AF_UNIX = 1;
    public const int SOCK_STREAM = 1;
    public const int SOCK_NONBLOCK = 0x800;
    public const int SOCK_CLOEXEC = 0x80000;
    public const int EFD_NONBLOCK = 0x800;
    public const int EFD_CLOEXEC = 0x80000;
    public const short POLLIN = 0x1;
    public const short POLLOUT = 0x4;
    public const short POLLERR = 0x8;
    public const short POLLHUP = 0x10;
    public const int EINTR = 4;
    public const int EAGAIN = 11;
    public const int MSG_NOSIGNAL = 0x4000;

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    public static partial int Socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "bind", SetLastError = true)]
    public static partial int Bind(int fd, byte* address, int length);

    [LibraryImport("libc", EntryPoint = "listen", SetLastError = true)]
    public static partial int Listen(int fd, int backlog);

    [LibraryImport("libc", EntryPoint = "accept4", SetLastError = true)]
    public static partial int Accept4(int fd, nint address, nint length, int flags);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
    public static partial nint Send(int fd, byte* buffer, nuint count, int flags);

    [LibraryImport("libc", EntryPoint = "close")]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    public static partial int Poll(PollFd* fds, nuint count, int timeoutMs);

    [LibraryImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    public static partial int EventFd(uint initial, int flags);

    [LibraryImport("libc", EntryPoint = "strerror")]
    private static partial nint StrError(int errno);

    public static int LastError => Marshal.GetLastPInvokeError();

    public static string ErrorText(int errno) => Marshal.PtrToStringUTF8(StrError(errno)) ?? $"errno {errno}";

    /// <summary>A listening, non-blocking unix stream socket bound to <paramref name="path"/>.</summary>
    public static int ListenUnix(string path, int backlog)
    {
        var pathBytes = Encoding.UTF8.GetBytes(path);
        // struct sockaddr_un: sa_family_t (2 bytes) + sun_path[108].
        if (pathBytes.Length >= 108)
            throw new IOException($"socket path too long: {path}");
        var fd = Socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            throw new IOException($"socket: {ErrorText(LastError)}");
        var address = stackalloc byte[110];
        new Span<byte>(address, 110).Clear();
        *(ushort*)address = AF_UNIX;
        pathBytes.CopyTo(new Span<byte>(address + 2, 108));
        if (Bind(fd, address, 2 + pathBytes.Length + 1) != 0 || Listen(fd, backlog) != 0)
        {
            var error = LastError;
            Close(fd);
            throw new IOException($"cannot listen on {path}: {ErrorText(error)}");
        }
        return fd;
    }
}
