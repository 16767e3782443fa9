using System.Runtime.InteropServices;

namespace Containerd.Daemon.Native;

/// <summary>inotify(7) and what waiting on it needs (eventfd, poll), as libc exposes them.</summary>
internal static partial class Inotify
{
    public const uint InModify = 0x00000002;
    public const uint InCloseWrite = 0x00000008;
    public const uint InMovedTo = 0x00000080;
    public const uint InCreate = 0x00000100;
    public const uint InQueueOverflow = 0x00004000;
    public const uint InIgnored = 0x00008000;
    public const uint InOnlyDir = 0x01000000;
    public const int InCloexec = 0x80000;
    public const int EfdCloexec = 0x80000;
    public const short PollIn = 0x1;
    public const int EINTR = 4;

    /// <summary>Size of struct inotify_event before its name.</summary>
    public const int EventHeaderSize = 16;

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", EntryPoint = "inotify_init1", SetLastError = true)]
    public static partial int Init(int flags);

    [LibraryImport("libc", EntryPoint = "inotify_add_watch", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int AddWatch(int fd, string path, uint mask);

    [LibraryImport("libc", EntryPoint = "inotify_rm_watch", SetLastError = true)]
    public static partial int RemoveWatch(int fd, int wd);

    [LibraryImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    public static partial int EventFd(uint initval, int flags);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    public static unsafe partial int Poll(PollFd* fds, nuint count, int timeout);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static unsafe partial nint Read(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    public static unsafe partial nint Write(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);
}
