using System.Runtime.InteropServices;

namespace Containerd.Shim.Native;

/// <summary>
/// Syscalls only the shim needs (spawning, reaping, mounting, sessions).
/// The common ones (open, read, write, pipe2, poll, kill) live in
/// <see cref="Containerd.Shared.Native.Libc"/>.
/// </summary>
internal static unsafe partial class Posix
{
    public const int PR_SET_CHILD_SUBREAPER = 36;

    public const int EPIPE = 32;
    public const int EPERM = 1;
    public const int EBUSY = 16;

    public const int EFD_CLOEXEC = 0x80000;
    public const int EFD_NONBLOCK = 0x800;
    public const uint MFD_CLOEXEC = 1;

    public const nuint FIONREAD = 0x541B;

    // Resolving mount targets inside the rootfs (openat2(2), linux/openat2.h).
    public const int O_PATH = 0x200000;
    public const int O_DIRECTORY = 0x10000;
    public const int AT_FDCWD = -100;
    public const ulong RESOLVE_NO_MAGICLINKS = 0x02;
    public const ulong RESOLVE_IN_ROOT = 0x10;
    public const int ENOTDIR = 20;
    public const int ELOOP = 40;
    public const int ENOSYS = 38;
    public const int UMOUNT_NOFOLLOW = 8;

    /// <summary>openat2's number: the same on x86-64 and aarch64 (new syscalls share one table).</summary>
    private const long SYS_openat2 = 437;

    /// <summary>struct open_how: all fields u64, so the layout is fixed on every architecture.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct OpenHow
    {
        public ulong Flags;
        public ulong Mode;
        public ulong Resolve;
    }

    public const short POSIX_SPAWN_SETSIGDEF = 0x04;
    public const short POSIX_SPAWN_SETSIGMASK = 0x08;

    // glibc x86-64/aarch64 sizes, rounded up: posix_spawn_file_actions_t is 80
    // bytes, posix_spawnattr_t 336, sigset_t 128.
    public const int FileActionsSize = 128;
    public const int SpawnAttrSize = 512;
    public const int SigSetSize = 128;

    [LibraryImport("libc", EntryPoint = "setsid", SetLastError = true)]
    public static partial int SetSid();

    [LibraryImport("libc", EntryPoint = "prctl", SetLastError = true)]
    public static partial int Prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);

    [LibraryImport("libc", EntryPoint = "waitpid", SetLastError = true)]
    public static partial int WaitPid(int pid, int* status, int options);

    [LibraryImport("libc", EntryPoint = "mount", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Mount(string? source, string target, string? fsType, nuint flags, string? data);

    /// <summary>glibc has no openat2 wrapper; syscall(2) passes the integer arguments through in registers.</summary>
    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long SyscallOpenAt2(long number, int dirFd, byte* path, OpenHow* how, nuint size);

    /// <summary>openat2(2); -1 with errno set on failure.</summary>
    public static int OpenAt2(int dirFd, string path, ulong flags, ulong resolve)
    {
        var how = new OpenHow { Flags = flags, Mode = 0, Resolve = resolve };
        var bytes = Utf8Z(path);
        fixed (byte* p = bytes)
            return (int)SyscallOpenAt2(SYS_openat2, dirFd, p, &how, (nuint)sizeof(OpenHow));
    }

    [LibraryImport("libc", EntryPoint = "mkdirat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MkdirAt(int dirFd, string name, int mode);

    [LibraryImport("libc", EntryPoint = "readlinkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint ReadLinkAt(int dirFd, string path, byte* buffer, nuint size);

    /// <summary>The text of the symlink <paramref name="path"/> (relative to <paramref name="dirFd"/>); null with errno set (EINVAL: not a symlink).</summary>
    public static string? ReadLink(int dirFd, string path)
    {
        const int Max = 4096;
        var buffer = stackalloc byte[Max];
        var length = ReadLinkAt(dirFd, path, buffer, Max);
        return length < 0 ? null : System.Text.Encoding.UTF8.GetString(buffer, (int)length);
    }

    [LibraryImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    public static partial int EventFd(uint initialValue, int flags);

    // Watching a cgroup v2 memory.events file (inotify(7)).
    public const int IN_CLOEXEC = 0x80000;
    public const int IN_NONBLOCK = 0x800;
    public const uint IN_MODIFY = 0x2;

    [LibraryImport("libc", EntryPoint = "inotify_init1", SetLastError = true)]
    public static partial int InotifyInit1(int flags);

    [LibraryImport("libc", EntryPoint = "inotify_add_watch", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int InotifyAddWatch(int fd, string path, uint mask);

    [LibraryImport("libc", EntryPoint = "memfd_create", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MemFdCreate(string name, uint flags);

    [LibraryImport("libc", EntryPoint = "pread", SetLastError = true)]
    public static partial nint PRead(int fd, byte* buffer, nint count, long offset);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int Ioctl(int fd, nuint request, int* argument);

    [LibraryImport("libc", EntryPoint = "posix_spawnp")]
    public static partial int PosixSpawnP(int* pid, byte* file, void* fileActions, void* attributes, byte** argv, byte** envp);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_init")]
    public static partial int FileActionsInit(void* fileActions);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_destroy")]
    public static partial int FileActionsDestroy(void* fileActions);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_adddup2")]
    public static partial int FileActionsAddDup2(void* fileActions, int fd, int newFd);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_addclosefrom_np")]
    public static partial int FileActionsAddCloseFrom(void* fileActions, int lowFd);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_init")]
    public static partial int SpawnAttrInit(void* attributes);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_destroy")]
    public static partial int SpawnAttrDestroy(void* attributes);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_setflags")]
    public static partial int SpawnAttrSetFlags(void* attributes, short flags);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_setsigmask")]
    public static partial int SpawnAttrSetSigMask(void* attributes, void* sigset);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_setsigdefault")]
    public static partial int SpawnAttrSetSigDefault(void* attributes, void* sigset);

    [LibraryImport("libc", EntryPoint = "sigemptyset")]
    public static partial int SigEmptySet(void* sigset);

    [LibraryImport("libc", EntryPoint = "sigfillset")]
    public static partial int SigFillSet(void* sigset);

    // Terminals: the console socket runc sends the pty master over, and the master's ioctls.
    public const int AF_UNIX = 1;
    public const int SOCK_STREAM = 1;
    public const int SOCK_NONBLOCK = 0x800;
    public const int SOCK_CLOEXEC = 0x80000;
    public const int SOL_SOCKET = 1;
    public const int SCM_RIGHTS = 1;
    public const int MSG_CTRUNC = 0x8;
    public const int MSG_CMSG_CLOEXEC = 0x40000000;
    public const int F_DUPFD_CLOEXEC = 1030;
    public const int EIO = 5;
    public const int EBADF = 9;
    public const int ENOTTY = 25;
    public const nuint TIOCSWINSZ = 0x5414;

    /// <summary>struct sockaddr_un: a 2-byte family, then sun_path[108].</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct SockAddrUnix
    {
        public ushort Family;
        public fixed byte Path[108];
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct IoVec
    {
        public void* Base;
        public nuint Length;
    }

    /// <summary>struct msghdr (LP64: x86-64 and aarch64 alike; the compiler pads after NameLength).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct MsgHdr
    {
        public void* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    /// <summary>struct cmsghdr; its data starts at the next 8-byte boundary (CMSG_DATA), i.e. right after it.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct CmsgHdr
    {
        public nuint Length;
        public int Level;
        public int Type;
    }

    /// <summary>struct winsize.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct WinSize
    {
        public ushort Rows;
        public ushort Columns;
        public ushort XPixels;
        public ushort YPixels;
    }

    /// <summary>glibc's struct termios: four tcflag_t, c_line, c_cc[32], two speeds (60 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Termios
    {
        public uint InputFlags;
        public uint OutputFlags;
        public uint ControlFlags;
        public uint LocalFlags;
        public byte Line;
        public fixed byte ControlChars[32];
        public uint InputSpeed;
        public uint OutputSpeed;
    }

    /// <summary>struct timespec (LP64).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    public const int CLOCK_REALTIME = 0;

    /// <summary>clock_gettime(2): nanoseconds, where DateTime has 100 ns ticks (CRI log times are Go's, to the nanosecond).</summary>
    [LibraryImport("libc", EntryPoint = "clock_gettime", SetLastError = true)]
    public static partial int ClockGetTime(int clock, TimeSpec* time);

    /// <summary>The index of VEOF in c_cc (Linux, every architecture).</summary>
    public const int VEOF = 4;

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    public static partial int Socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "bind", SetLastError = true)]
    public static partial int Bind(int fd, SockAddrUnix* address, uint length);

    [LibraryImport("libc", EntryPoint = "connect", SetLastError = true)]
    public static partial int Connect(int fd, SockAddrUnix* address, uint length);

    [LibraryImport("libc", EntryPoint = "listen", SetLastError = true)]
    public static partial int Listen(int fd, int backlog);

    [LibraryImport("libc", EntryPoint = "accept4", SetLastError = true)]
    public static partial int Accept4(int fd, void* address, uint* length, int flags);

    [LibraryImport("libc", EntryPoint = "recvmsg", SetLastError = true)]
    public static partial nint RecvMsg(int fd, MsgHdr* message, int flags);

    [LibraryImport("libc", EntryPoint = "sendmsg", SetLastError = true)]
    public static partial nint SendMsg(int fd, MsgHdr* message, int flags);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int Ioctl(int fd, nuint request, WinSize* argument);

    [LibraryImport("libc", EntryPoint = "tcgetattr", SetLastError = true)]
    public static partial int TcGetAttr(int fd, Termios* termios);

    /// <summary>fcntl(fd, F_DUPFD_CLOEXEC, 0): a close-on-exec duplicate.</summary>
    public static int DupCloexec(int fd) => Containerd.Shared.Native.Libc.Fcntl(fd, F_DUPFD_CLOEXEC, 0);

    /// <summary>A sockaddr_un for <paramref name="path"/>; false when it does not fit sun_path (with its NUL).</summary>
    public static bool TryUnixAddress(string path, out SockAddrUnix address, out uint length)
    {
        address = default;
        address.Family = AF_UNIX;
        var bytes = System.Text.Encoding.UTF8.GetBytes(path);
        length = 0;
        if (bytes.Length == 0 || bytes.Length > 107)
            return false;
        fixed (byte* target = address.Path)
            bytes.CopyTo(new Span<byte>(target, 108));
        length = (uint)(sizeof(ushort) + bytes.Length + 1);
        return true;
    }

    /// <summary>Exit status convention: exited → its code; killed by signal n → 128+n.</summary>
    public static int DecodeWaitStatus(int status)
    {
        var signal = status & 0x7f;
        if (signal == 0)
            return (status >> 8) & 0xff;
        // 0x7f means stopped/continued, which waitpid without WUNTRACED never reports.
        return 128 + signal;
    }

    private static byte[] Utf8Z(string text)
    {
        var bytes = new byte[System.Text.Encoding.UTF8.GetByteCount(text) + 1];
        System.Text.Encoding.UTF8.GetBytes(text, bytes);
        return bytes;
    }

    public static void CloseQuietly(ref int fd)
    {
        if (fd >= 0)
        {
            Containerd.Shared.Native.Libc.Close(fd);
            fd = -1;
        }
    }
}
