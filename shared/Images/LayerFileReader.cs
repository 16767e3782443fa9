using System.Formats.Tar;
using System.IO.Compression;

namespace Containerd.Shared.Images;

/// <summary>
/// Reads small files (an image's /etc/passwd and /etc/group) out of its layer
/// blobs as the merged root filesystem would show them, without unpacking:
/// the top layer is searched first, and a lower layer counts only if nothing
/// above hid the path. Hiding follows the OCI layer rules: <c>.wh.NAME</c>
/// removes NAME (and what was under it), <c>DIR/.wh..wh..opq</c> hides every
/// lower layer's content of DIR, and a non-directory at a parent path replaces
/// the directory. Links are not followed (a symbolic or hard link at the path,
/// or a symbolic link on the way, is an error saying so). The compression is
/// told by the blob's first bytes, not its media type.
/// </summary>
public static class LayerFileReader
{
    /// <summary>The most this reads of one file; a larger one is refused rather than loaded.</summary>
    public const int MaxFileBytes = 1 << 20;

    private const string WhiteoutPrefix = ".wh.";
    private const string OpaqueMarker = ".wh..wh..opq";

    /// <param name="layers">The image's layers, bottom first, as the manifest lists them.</param>
    /// <param name="open">Opens a layer blob's (compressed) bytes; the stream is disposed here.</param>
    /// <param name="paths">Paths inside the image ("etc/passwd", "/etc/passwd" alike).</param>
    /// <returns>For each path as given, its content, or null when the merged rootfs has no such regular file.</returns>
    /// <exception cref="ImageFormatException">A layer is not a readable tar (or gzip of one), or a file is over <see cref="MaxFileBytes"/>.</exception>
    /// <exception cref="NotSupportedException">A path is (or passes through) a link.</exception>
    public static async Task<IReadOnlyDictionary<string, byte[]?>> ReadAsync(
        IReadOnlyList<BlobRef> layers, Func<BlobRef, CancellationToken, Task<Stream>> open, IReadOnlyList<string> paths,
        CancellationToken cancellationToken)
    {
        var wanted = paths.Distinct().ToDictionary(p => p, Normalize);
        var results = new Dictionary<string, byte[]?>();
        var pending = wanted.Values.Where(p => p.Length > 0).Distinct().ToHashSet();
        for (var i = layers.Count - 1; i >= 0 && pending.Count > 0; i--)
        {
            var layer = layers[i];
            var stream = await open(layer, cancellationToken).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                try
                {
                    await SearchLayerAsync(stream, layer, pending, results, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException)
                {
                    throw new ImageFormatException($"layer {layer.Digest} cannot be read as a tar: {e.Message}");
                }
            }
        }
        return wanted.ToDictionary(w => w.Key, w => results.GetValueOrDefault(w.Value));
    }

    /// <summary>Looks for every pending path in one layer; removes from PENDING each that this layer decides (found or hidden).</summary>
    private static async Task SearchLayerAsync(
        Stream blob, BlobRef layer, HashSet<string> pending, Dictionary<string, byte[]?> results, CancellationToken cancellationToken)
    {
        if (layer.Size == 0)
            return; // an empty blob: a layer that changes nothing
        await using var tar = await LayerStreams.DecompressAsync(blob, cancellationToken).ConfigureAwait(false);
        var found = new HashSet<string>();
        var hidden = new HashSet<string>();
        await using var reader = new TarReader(tar, leaveOpen: true);
        while (found.Count < pending.Count && await reader.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false) is { } entry)
        {
            var name = Normalize(entry.Name);
            if (name.Length == 0)
                continue;
            var slash = name.LastIndexOf('/');
            var directory = slash < 0 ? "" : name[..slash];
            var leaf = name[(slash + 1)..];
            foreach (var path in pending)
            {
                if (found.Contains(path))
                    continue;
                if (leaf.StartsWith(WhiteoutPrefix, StringComparison.Ordinal))
                {
                    // Whiteouts hide lower layers only: a path this layer also holds is still found.
                    var removed = leaf == OpaqueMarker ? directory : Join(directory, leaf[WhiteoutPrefix.Length..]);
                    if (leaf == OpaqueMarker ? IsUnder(path, removed) : path == removed || IsUnder(path, removed))
                        hidden.Add(path);
                }
                else if (name == path)
                {
                    found.Add(path);
                    results[path] = await FileContentAsync(entry, path, layer, cancellationToken).ConfigureAwait(false);
                }
                else if (IsUnder(path, name) && entry.EntryType != TarEntryType.Directory)
                {
                    if (entry.EntryType == TarEntryType.SymbolicLink)
                        throw new NotSupportedException($"/{name} is a symbolic link (to {entry.LinkName}) in layer {layer.Digest}: links are not followed to read /{path}");
                    // A file where a directory was: nothing below it from lower layers shows.
                    hidden.Add(path);
                }
            }
        }
        pending.ExceptWith(found);
        pending.ExceptWith(hidden);
    }

    /// <summary>A regular file's bytes; null for what is no regular file (a directory, a device).</summary>
    private static async Task<byte[]?> FileContentAsync(TarEntry entry, string path, BlobRef layer, CancellationToken cancellationToken)
    {
        switch (entry.EntryType)
        {
            case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                if (entry.Length > MaxFileBytes)
                    throw new ImageFormatException($"/{path} in layer {layer.Digest} is {entry.Length} bytes, more than the {MaxFileBytes} read of it");
                if (entry.DataStream is not { } data)
                    return [];
                using (var content = new MemoryStream((int)entry.Length))
                {
                    await data.CopyToAsync(content, cancellationToken).ConfigureAwait(false);
                    return content.ToArray();
                }
            case TarEntryType.SymbolicLink:
                throw new NotSupportedException($"/{path} is a symbolic link (to {entry.LinkName}) in layer {layer.Digest}: links are not followed");
            case TarEntryType.HardLink:
                throw new NotSupportedException($"/{path} is a hard link (to /{Normalize(entry.LinkName)}) in layer {layer.Digest}: links are not followed");
            default:
                return null;
        }
    }

    /// <summary>"./etc//passwd/" → "etc/passwd": tar names and asked-for paths compared alike.</summary>
    public static string Normalize(string path) =>
        string.Join('/', path.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(part => part != "."));

    private static string Join(string directory, string name) => directory.Length == 0 ? name : directory + "/" + name;

    private static bool IsUnder(string path, string directory) =>
        directory.Length == 0 || (path.Length > directory.Length && path.StartsWith(directory, StringComparison.Ordinal) && path[directory.Length] == '/');
}
