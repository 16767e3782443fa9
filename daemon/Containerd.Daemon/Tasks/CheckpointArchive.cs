using System.Formats.Tar;

namespace Containerd.Daemon.Tasks;

/// <summary>
/// A CRIU image directory as a tar and back. CRIU's image is a flat set of
/// regular files (possibly in directories), so unpacking accepts only those:
/// a link, device or fifo entry, an absolute name or one that climbs out with
/// <c>..</c> is refused (the tar comes from the content store, which anyone
/// with the socket can fill) and nothing is written outside the directory.
/// </summary>
public static class CheckpointArchive
{
    private const UnixFileMode PrivateFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Writes the directory's contents (not the directory itself) as a tar.</summary>
    public static Task CreateAsync(string directory, Stream destination, CancellationToken cancellationToken) =>
        TarFile.CreateFromDirectoryAsync(directory, destination, includeBaseDirectory: false, cancellationToken);

    /// <summary>Unpacks into <paramref name="directory"/> (created if missing).</summary>
    /// <exception cref="InvalidDataException">An entry is not a plain file or directory, or would land outside the directory; or the tar is malformed.</exception>
    public static async Task ExtractAsync(Stream source, string directory, CancellationToken cancellationToken)
    {
        var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
        Directory.CreateDirectory(root);
        var reader = new TarReader(source, leaveOpen: true);
        await using (reader.ConfigureAwait(false))
        {
            while (await NextAsync(reader, cancellationToken).ConfigureAwait(false) is { } entry)
            {
                var target = TargetOf(root, entry.Name);
                switch (entry.EntryType)
                {
                    case TarEntryType.Directory:
                        Directory.CreateDirectory(target);
                        break;
                    case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                        await WriteFileAsync(entry, target, cancellationToken).ConfigureAwait(false);
                        break;
                    case TarEntryType.GlobalExtendedAttributes or TarEntryType.ExtendedAttributes:
                        break;
                    default:
                        throw new InvalidDataException($"checkpoint entry \"{entry.Name}\" is a {entry.EntryType}; only files and directories are accepted");
                }
            }
        }
    }

    /// <summary>Where an entry lands; refuses names that are absolute or leave <paramref name="root"/>.</summary>
    public static string TargetOf(string root, string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('\0', StringComparison.Ordinal))
            throw new InvalidDataException("checkpoint entry with an empty or invalid name");
        if (Path.IsPathRooted(name))
            throw new InvalidDataException($"checkpoint entry \"{name}\" has an absolute name");
        if (name.Split('/').Any(segment => segment == ".."))
            throw new InvalidDataException($"checkpoint entry \"{name}\" leaves the checkpoint directory");
        var target = Path.GetFullPath(Path.Combine(root, name));
        if (!target.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new InvalidDataException($"checkpoint entry \"{name}\" leaves the checkpoint directory");
        return Path.TrimEndingDirectorySeparator(target);
    }

    private static async Task<TarEntry?> NextAsync(TarReader reader, CancellationToken cancellationToken)
    {
        try
        {
            return await reader.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false);
        }
        catch (FormatException e)
        {
            throw new InvalidDataException($"checkpoint is not a valid tar: {e.Message}", e);
        }
    }

    private static async Task WriteFileAsync(TarEntry entry, string target, CancellationToken cancellationToken)
    {
        // CreateNew: an entry named twice, or one aimed at an existing path, is refused rather than followed or overwritten.
        var output = new FileStream(target, new FileStreamOptions
        {
            Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = PrivateFile, Options = FileOptions.Asynchronous,
        });
        await using (output.ConfigureAwait(false))
        {
            if (entry.DataStream is { } data)
                await data.CopyToAsync(output, cancellationToken).ConfigureAwait(false);
        }
    }
}
