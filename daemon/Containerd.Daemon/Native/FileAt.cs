using System.Runtime.InteropServices;

namespace Containerd.Daemon.Native;

/// <summary>
/// The *at() system calls the layer applier needs: every file it creates is
/// named relative to a descriptor of an already-resolved parent directory, so no
/// path text (and no symlink a layer planted) is ever resolved from the host's root.
/// </summary>
internal static unsafe partial class FileAt
{
    public const int O_RDONLY = 0;
    public const int O_WRONLY = 1;
    public const int O_CREAT = 0x40;
    public const int O_EXCL = 0x80;
    public const int O_NOFOLLOW = 0x20000;
    public const int O_DIRECTORY = 0x10000;
    public const int O_CLOEXEC = 0x80000;
    public const int O_PATH = 0x200000;
    public const int AT_SYMLINK_NOFOLLOW = 0x100;
    public const int AT_REMOVEDIR = 0x200;
    public const int S_IFCHR = 0x2000;
    public const int S_IFBLK = 0x6000;
    public const int S_IFIFO = 0x1000;
    public const int ENOENT = 2;
    public const int EEXIST = 17;
    public const int ENOTDIR = 20;
    public const int EISDIR = 21;
    public const int ELOOP = 40;
    public const int ENOTEMPTY = 39;
    public const int ENODATA = 61;
    public const int ENOTSUP = 95;
    public const int ERANGE = 34;
    private const int AT_EMPTY_PATH = 0x1000;
    private const uint STATX_BASIC_STATS = 0x7ff;

    [LibraryImport("libc", EntryPoint = "openat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int OpenAt(int dirFd, string name, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "mkdirat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MkdirAt(int dirFd, string name, int mode);

    [LibraryImport("libc", EntryPoint = "mknodat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MknodAt(int dirFd, string name, int mode, ulong dev);

    [LibraryImport("libc", EntryPoint = "symlinkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int SymlinkAt(string target, int dirFd, string name);

    /// <summary>linkat with flags 0: a symlink as old name is linked itself, never followed.</summary>
    [LibraryImport("libc", EntryPoint = "linkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int LinkAt(int oldDirFd, string oldName, int newDirFd, string newName, int flags);

    [LibraryImport("libc", EntryPoint = "unlinkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int UnlinkAt(int dirFd, string name, int flags);

    [LibraryImport("libc", EntryPoint = "fchownat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int FchownAt(int dirFd, string name, int uid, int gid, int flags);

    [LibraryImport("libc", EntryPoint = "fchmodat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int FchmodAt(int dirFd, string name, int mode, int flags);

    [LibraryImport("libc", EntryPoint = "utimensat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int UtimensAt(int dirFd, string name, long* times, int flags);

    [LibraryImport("libc", EntryPoint = "lsetxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LSetXattr(string path, string name, byte* value, nuint size, int flags);

    [LibraryImport("libc", EntryPoint = "lgetxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint LGetXattr(string path, string name, byte* value, nuint size);

    [LibraryImport("libc", EntryPoint = "fchown", SetLastError = true)]
    public static partial int Fchown(int fd, int uid, int gid);

    [LibraryImport("libc", EntryPoint = "fchmod", SetLastError = true)]
    public static partial int Fchmod(int fd, int mode);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int dirFd, string name, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", EntryPoint = "flistxattr", SetLastError = true)]
    private static partial nint FListXattr(int fd, byte* list, nuint size);

    [LibraryImport("libc", EntryPoint = "fgetxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint FGetXattr(int fd, string name, byte* value, nuint size);

    [LibraryImport("libc", EntryPoint = "fsetxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int FSetXattr(int fd, string name, byte* value, nuint size, int flags);

    /// <summary>
    /// Owner, permission bits (with set-id and sticky) and mtime of the open file
    /// <paramref name="fd"/>; statx's layout, unlike struct stat's, is the same on every architecture.
    /// </summary>
    public static bool TryStat(int fd, out int uid, out int gid, out int mode, out DateTimeOffset modified)
    {
        byte* buffer = stackalloc byte[256];
        if (Statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, buffer) < 0)
        {
            (uid, gid, mode, modified) = (0, 0, 0, default);
            return false;
        }

        uid = *(int*)(buffer + 20);
        gid = *(int*)(buffer + 24);
        mode = *(ushort*)(buffer + 28) & 0xfff;
        long seconds = *(long*)(buffer + 112);
        uint nanoseconds = *(uint*)(buffer + 120);
        modified = DateTimeOffset.UnixEpoch.AddTicks(seconds * TimeSpan.TicksPerSecond + nanoseconds / 100);
        return true;
    }

    /// <summary>The names of the extended attributes of the open file <paramref name="fd"/>; null on error (errno set).</summary>
    public static List<string>? ListXattrs(int fd)
    {
        while (true)
        {
            nint size = FListXattr(fd, null, 0);
            if (size < 0)
                return null;
            if (size == 0)
                return [];
            var buffer = new byte[size];
            fixed (byte* p = buffer)
                size = FListXattr(fd, p, (nuint)buffer.Length);
            if (size < 0 && Marshal.GetLastPInvokeError() == ERANGE)
                continue; // grew in between
            if (size < 0)
                return null;
            var names = new List<string>();
            foreach (var name in new ReadOnlySpan<byte>(buffer, 0, (int)size).Split((byte)0))
            {
                var bytes = new ReadOnlySpan<byte>(buffer, 0, (int)size)[name];
                if (!bytes.IsEmpty)
                    names.Add(System.Text.Encoding.UTF8.GetString(bytes));
            }

            return names;
        }
    }

    /// <summary>fgetxattr(2); null on error (errno set, ENODATA when absent).</summary>
    public static byte[]? GetXattr(int fd, string name)
    {
        while (true)
        {
            nint size = FGetXattr(fd, name, null, 0);
            if (size < 0)
                return null;
            var buffer = new byte[size];
            fixed (byte* p = buffer)
                size = FGetXattr(fd, name, p, (nuint)buffer.Length);
            if (size < 0 && Marshal.GetLastPInvokeError() == ERANGE)
                continue;
            return size < 0 ? null : buffer[..(int)size];
        }
    }

    /// <summary>fsetxattr(2) on the open file <paramref name="fd"/>.</summary>
    public static int SetXattr(int fd, string name, ReadOnlySpan<byte> value)
    {
        fixed (byte* p = value)
            return FSetXattr(fd, name, p, (nuint)value.Length, 0);
    }

    /// <summary>Sets atime and mtime of <paramref name="name"/> (not following a symlink) to <paramref name="time"/>.</summary>
    public static int SetTimes(int dirFd, string name, DateTimeOffset time)
    {
        long ticks = (time.UtcDateTime - DateTime.UnixEpoch).Ticks;
        long seconds = Math.DivRem(ticks, TimeSpan.TicksPerSecond, out long rest);
        if (rest < 0)
        {
            seconds--;
            rest += TimeSpan.TicksPerSecond;
        }

        long* times = stackalloc long[4] { seconds, rest * 100, seconds, rest * 100 };
        return UtimensAt(dirFd, name, times, AT_SYMLINK_NOFOLLOW);
    }

    /// <summary>lsetxattr(2): on the file itself, never through a final symlink.</summary>
    public static int SetXattr(string path, string name, ReadOnlySpan<byte> value)
    {
        fixed (byte* p = value)
            return LSetXattr(path, name, p, (nuint)value.Length, 0);
    }

    /// <summary>lgetxattr(2); null when the attribute is absent.</summary>
    public static byte[]? GetXattr(string path, string name)
    {
        byte* buffer = stackalloc byte[4096];
        nint n = LGetXattr(path, name, buffer, 4096);
        return n < 0 ? null : new ReadOnlySpan<byte>(buffer, (int)n).ToArray();
    }

    /// <summary>The path that names <paramref name="name"/> inside the directory <paramref name="dirFd"/> (for calls with no *at form).</summary>
    public static string ProcPath(int dirFd, string name) => $"/proc/self/fd/{dirFd}/{name}";
}
