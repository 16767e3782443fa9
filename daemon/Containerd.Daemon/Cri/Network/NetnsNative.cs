using System.Runtime.InteropServices;

namespace Containerd.Daemon.Cri.Network;

/// <summary>
/// The system calls a persistent network namespace needs that neither .NET nor
/// <see cref="Containerd.Shared.Native.Libc"/> has (umount2 and errno come from there).
/// </summary>
internal static unsafe partial class NetnsNative
{
    public const int CLONE_NEWNET = 0x40000000;
    public const nuint MS_BIND = 0x1000;
    public const int EINVAL = 22;
    public const int ENOENT = 2;

    /// <summary>statfs f_type of nsfs, the file system of /proc/*/ns/* and their bind mounts.</summary>
    public const long NSFS_MAGIC = 0x6e736673;

    [LibraryImport("libc", EntryPoint = "unshare", SetLastError = true)]
    public static partial int Unshare(int flags);

    [LibraryImport("libc", EntryPoint = "mount", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Mount(string source, string target, string? fsType, nuint flags, string? data);

    [LibraryImport("libc", EntryPoint = "statfs", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int StatFs(string path, byte* buffer);

    /// <summary>
    /// The f_type of the file system holding <paramref name="path"/>, or null
    /// (errno set). f_type is the first field of struct statfs on every 64-bit
    /// Linux ABI .NET runs on (a long, or __fsword_t); the buffer is larger than
    /// the whole struct (120 bytes on x86-64 and arm64).
    /// </summary>
    public static long? FileSystemType(string path)
    {
        byte* buffer = stackalloc byte[512];
        if (StatFs(path, buffer) != 0)
            return null;
        return *(long*)buffer;
    }
}
