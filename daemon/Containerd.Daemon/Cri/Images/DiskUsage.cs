using Containerd.Daemon.Native;

namespace Containerd.Daemon.Cri.Images;

/// <summary>Bytes (file sizes) and inodes under a directory, hard links counted once, symlinks not followed.</summary>
public static class DiskUsage
{
    public static (long Bytes, long Inodes) Of(string directory)
    {
        long bytes = 0, inodes = 0;
        if (!Directory.Exists(directory))
            return (0, 0);
        var seen = new HashSet<ulong>();
        var options = new EnumerationOptions
        {
            RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = true, ReturnSpecialDirectories = false,
        };
        foreach (var entry in new DirectoryInfo(directory).EnumerateFileSystemInfos("*", options))
        {
            if (entry is FileInfo file && (file.Attributes & FileAttributes.ReparsePoint) == 0)
            {
                // Layers are full of hard links (busybox): one inode, counted once.
                if (FileType.Inode(file.FullName) is { } inode && !seen.Add(inode))
                    continue;
                bytes += file.Length;
            }
            inodes++;
        }
        return (bytes, inodes + 1);
    }
}
