namespace Containerd.Daemon.Hosting;

/// <summary>
/// An exclusive claim on a directory for the life of the daemon: an flock on
/// a lock file inside it (.NET takes one for <see cref="FileShare.None"/>),
/// released by the kernel however the daemon ends, kill -9 included.
/// </summary>
public static class DirectoryLock
{
    /// <summary>The held lock, or null when another process holds it.</summary>
    public static FileStream? TryAcquire(string directory, string fileName)
    {
        try
        {
            return new FileStream(Path.Combine(directory, fileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException) when (File.Exists(Path.Combine(directory, fileName)))
        {
            return null;
        }
    }
}
