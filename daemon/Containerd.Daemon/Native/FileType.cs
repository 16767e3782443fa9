using System.Runtime.InteropServices;

namespace Containerd.Daemon.Native;

/// <summary>
/// What .NET does not tell about a path and lstat does: whether it is a unix
/// socket (so the daemon only ever removes a stale *socket* at its address,
/// never a file someone put there), and its inode (so a replaced file is noticed).
/// </summary>
public static partial class FileType
{
    private const uint S_IFMT = 0xF000;
    private const uint S_IFSOCK = 0xC000;

    [LibraryImport("libc", EntryPoint = "lstat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int LStat(string path, byte* buffer);

    /// <summary>The inode number of <paramref name="path"/> (not following symlinks), or null when it does not exist.</summary>
    public static unsafe ulong? Inode(string path)
    {
        // st_ino follows the 8-byte st_dev on both x86_64 and arm64.
        var buffer = stackalloc byte[256];
        return LStat(path, buffer) == 0 ? *(ulong*)(buffer + 8) : null;
    }

    /// <summary>True when <paramref name="path"/> exists and is a unix socket (not following symlinks).</summary>
    public static unsafe bool IsSocket(string path)
    {
        // struct stat is 144 bytes on x86_64 and 128 on arm64; st_mode sits at 24 and 16.
        var modeOffset = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => 24,
            Architecture.Arm64 => 16,
            _ => throw new PlatformNotSupportedException($"struct stat layout unknown for {RuntimeInformation.ProcessArchitecture}"),
        };
        var buffer = stackalloc byte[256];
        if (LStat(path, buffer) != 0)
            return false;
        var mode = *(uint*)(buffer + modeOffset);
        return (mode & S_IFMT) == S_IFSOCK;
    }
}
