using Containerd.Ctr.Cli;
using Containerd.Shared.Native;

namespace Containerd.Ctr.Io;

/// <summary>
/// ctr's private directories for stdio FIFOs, one per process: under
/// /run/containerd-cs/ctr when ctr may write there (root), else under the temp
/// directory; mode 0700 either way. A directory that must outlive ctr (a
/// detached task with a terminal) is removed when the task is deleted, which
/// recognises it by its FIFO paths lying directly inside one of these parents.
/// </summary>
internal static class FifoDirectory
{
    private const string RunDirectory = "/run/containerd-cs/ctr";
    private const UnixFileMode PrivateDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    private static string[] Parents => [RunDirectory, Path.Combine(Path.GetTempPath(), "ctr")];

    public static string Create(string id)
    {
        foreach (var parent in Parents)
        {
            try
            {
                Directory.CreateDirectory(parent, PrivateDirectory);
                var directory = Path.Combine(parent, $"{id}-{Path.GetRandomFileName().Replace(".", "", StringComparison.Ordinal)}");
                Directory.CreateDirectory(directory, PrivateDirectory);
                return directory;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
        throw new CtrException("cannot create a directory for the stdio FIFOs under /run/containerd-cs/ctr or the temp directory");
    }

    /// <summary>Creates a FIFO that only ctr's user may open.</summary>
    public static void MakeFifo(string path)
    {
        if (Libc.MkFifo(path, 0b110_000_000) != 0)
            throw new CtrException($"mkfifo {path}: {Libc.ErrorText(Libc.LastError)}");
    }

    /// <summary>The directory holding <paramref name="fifoPath"/> if ctr made it; null for any other path (a client's own file, "").</summary>
    public static string? OwnerOf(string fifoPath)
    {
        if (string.IsNullOrEmpty(fifoPath) || !Path.IsPathFullyQualified(fifoPath))
            return null;
        var directory = Path.GetDirectoryName(Path.GetFullPath(fifoPath));
        var parent = directory is null ? null : Path.GetDirectoryName(directory);
        return parent is not null && Parents.Any(p => string.Equals(Path.GetFullPath(p).TrimEnd('/'), parent, StringComparison.Ordinal))
            ? directory
            : null;
    }

    /// <summary>Removes the FIFO directories ctr made for a task's stdio; best effort, a missing one is fine.</summary>
    public static void RemoveFor(params string[] fifoPaths)
    {
        foreach (var directory in fifoPaths.Select(OwnerOf).OfType<string>().Distinct(StringComparer.Ordinal))
            Remove(directory);
    }

    public static void Remove(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"ctr: removing {directory}: {e.Message}");
        }
    }
}
