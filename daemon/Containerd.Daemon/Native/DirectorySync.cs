using System.Runtime.InteropServices;

namespace Containerd.Daemon.Native;

/// <summary>
/// fsync of a directory, which .NET has no API for (it will not open a
/// directory as a file): after a rename, it makes the new directory entry
/// durable, so a blob that was reported written survives a power loss.
/// </summary>
public static partial class DirectorySync
{
    private const int O_RDONLY = 0x0;
    private const int O_DIRECTORY = 0x10000;
    private const int O_CLOEXEC = 0x80000;
    private const int EINTR = 4;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);

    /// <summary>Flushes <paramref name="path"/>'s entries to disk; throws <see cref="IOException"/> when it cannot.</summary>
    public static void Flush(string path)
    {
        var fd = Open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
            throw new IOException($"open {path}: errno {Marshal.GetLastPInvokeError()}");
        try
        {
            int result;
            do
                result = Fsync(fd);
            while (result < 0 && Marshal.GetLastPInvokeError() == EINTR);
            if (result < 0)
                throw new IOException($"fsync {path}: errno {Marshal.GetLastPInvokeError()}");
        }
        finally
        {
            Close(fd);
        }
    }
}
