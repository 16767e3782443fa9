using Containerd.Shared.Images;
using System.Formats.Tar;
using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text;
using Containerd.Daemon.Native;
using Microsoft.Win32.SafeHandles;

namespace Containerd.Daemon.Snapshots;

/// <summary>
/// Extracts OCI/Docker layer tars. Containment does not rest on checking path
/// text: every entry's parent is walked one component at a time from a
/// descriptor of the target directory with O_NOFOLLOW|O_DIRECTORY, and the
/// entry is created with *at() calls relative to that parent. A symlink planted
/// by an earlier entry therefore stops the walk (ELOOP) instead of being
/// followed, <c>..</c> components are refused, absolute names are taken as
/// relative, and hard link targets are resolved the same way. Such an entry
/// fails the whole layer with <see cref="InvalidDataException"/> naming it.
/// </summary>
public sealed class LayerApplier(WhiteoutStyle whiteouts = WhiteoutStyle.Overlay) : ILayerApplier
{
    private const string WhiteoutPrefix = ".wh.";
    private const string OpaqueMarker = ".wh..wh..opq";
    private const string XattrPrefix = "SCHILY.xattr.";

    /// <summary>
    /// Overlayfs reads its own trusted.overlay.* attributes in an upper or lower
    /// directory (opaque, redirect, metacopy): a layer must not set them itself,
    /// only through the OCI whiteout entries this class translates.
    /// </summary>
    private const string OverlayXattrPrefix = "trusted.overlay.";

    private const int AtFdCwd = -100;
    private const int DirectoryFlags = FileAt.O_RDONLY | FileAt.O_DIRECTORY | FileAt.O_NOFOLLOW | FileAt.O_CLOEXEC;

    /// <inheritdoc/>
    public async Task<string> ApplyAsync(Stream layer, string mediaType, string directory, IReadOnlyList<string> parents, CancellationToken cancellationToken)
    {
        // The caller owns the layer stream; the decompressor (and the replay of the sniffed magic under it) are ours.
        await using Stream uncompressed = await DecompressAsync(layer, mediaType, cancellationToken).ConfigureAwait(false);
        using var hashing = new HashingReadStream(uncompressed);
        int root = FileAt.OpenAt(AtFdCwd, Path.GetFullPath(directory), DirectoryFlags, 0);
        if (root < 0)
            throw Errno($"open {directory}");

        var lowers = new List<int>(parents.Count);
        try
        {
            foreach (string parentDirectory in parents)
            {
                int lower = FileAt.OpenAt(AtFdCwd, Path.GetFullPath(parentDirectory), DirectoryFlags, 0);
                if (lower < 0)
                    throw Errno($"open parent layer {parentDirectory}");
                lowers.Add(lower);
            }

            var deferredTimes = new List<(string[] Parts, DateTimeOffset Time)>();
            await using (var reader = new TarReader(hashing, leaveOpen: true))
            {
                while (await reader.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false) is { } entry)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    await ApplyEntryAsync(root, lowers, entry, deferredTimes, cancellationToken).ConfigureAwait(false);
                }
            }

            // Directory times last: creating their children changed them.
            foreach (var (parts, time) in deferredTimes)
            {
                int parent = OpenParent(root, parts, parts.Length - 1, string.Join('/', parts), create: null, missingOk: true);
                if (parent < 0)
                    continue;
                try
                {
                    FileAt.SetTimes(parent, parts[^1], time);
                }
                finally
                {
                    CloseUnlessRoot(parent, root);
                }
            }

            // The diff id covers the whole uncompressed stream, end-of-archive blocks and padding included.
            await hashing.CopyToAsync(Stream.Null, cancellationToken).ConfigureAwait(false);
            return hashing.Digest();
        }
        finally
        {
            foreach (int lower in lowers)
                FileAt.Close(lower);
            FileAt.Close(root);
        }
    }

    /// <summary>
    /// As containerd's differ: the media type must name a layer, and the stream's
    /// own magic decides how it is compressed (gzip, zstd, or none), so a layer
    /// whose manifest names the wrong compression still applies.
    /// </summary>
    private static async Task<Stream> DecompressAsync(Stream layer, string mediaType, CancellationToken cancellationToken)
    {
        if (!IsLayerMediaType(mediaType))
            throw new NotSupportedException($"layer media type {mediaType} is not supported");

        return await LayerStreams.DecompressAsync(layer, cancellationToken).ConfigureAwait(false);
    }

    private static bool IsLayerMediaType(string mediaType) => mediaType is
        "application/vnd.oci.image.layer.v1.tar"
        or "application/vnd.oci.image.layer.v1.tar+gzip"
        or "application/vnd.oci.image.layer.v1.tar+zstd"
        or "application/vnd.oci.image.layer.nondistributable.v1.tar"
        or "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
        or "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
        or "application/vnd.docker.image.rootfs.diff.tar"
        or "application/vnd.docker.image.rootfs.diff.tar.gzip"
        or "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

    private async Task ApplyEntryAsync(int root, List<int> lowers, TarEntry entry, List<(string[] Parts, DateTimeOffset Time)> deferredTimes, CancellationToken cancellationToken)
    {
        if (entry.EntryType is TarEntryType.GlobalExtendedAttributes)
            return;

        string entryName = entry.Name;
        string[] parts = Components(entryName, entryName);
        if (parts.Length == 0)
            return; // "./": the snapshot directory's own metadata belongs to the snapshotter.

        string name = parts[^1];
        if (name.StartsWith(WhiteoutPrefix, StringComparison.Ordinal))
        {
            ApplyWhiteout(root, lowers, parts, entryName, deferredTimes);
            return;
        }

        int parent = OpenParent(root, parts, parts.Length - 1, entryName, new Parents(lowers, deferredTimes));
        try
        {
            switch (entry.EntryType)
            {
                case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                    RemoveLeaf(parent, name, entryName);
                    int fd = FileAt.OpenAt(parent, name, FileAt.O_WRONLY | FileAt.O_CREAT | FileAt.O_EXCL | FileAt.O_NOFOLLOW | FileAt.O_CLOEXEC, 0x180);
                    if (fd < 0)
                        throw Errno($"layer entry '{entryName}': create");
                    await using (var file = new FileStream(new SafeFileHandle(fd, ownsHandle: true), FileAccess.Write, bufferSize: 0))
                    {
                        if (entry.DataStream is { } data)
                            await data.CopyToAsync(file, 128 * 1024, cancellationToken).ConfigureAwait(false);
                    }

                    break;
                case TarEntryType.Directory:
                    if (FileAt.MkdirAt(parent, name, 0x1ed) < 0)
                    {
                        if (Marshal.GetLastPInvokeError() != FileAt.EEXIST)
                            throw Errno($"layer entry '{entryName}': mkdir");
                        int existing = FileAt.OpenAt(parent, name, DirectoryFlags, 0);
                        if (existing >= 0)
                        {
                            FileAt.Close(existing); // a directory already: merge into it
                        }
                        else
                        {
                            RemoveLeaf(parent, name, entryName);
                            if (FileAt.MkdirAt(parent, name, 0x1ed) < 0)
                                throw Errno($"layer entry '{entryName}': mkdir");
                        }
                    }

                    break;
                case TarEntryType.SymbolicLink:
                    RemoveLeaf(parent, name, entryName);
                    if (FileAt.SymlinkAt(entry.LinkName, parent, name) < 0)
                        throw Errno($"layer entry '{entryName}': symlink");
                    break;
                case TarEntryType.HardLink:
                    CreateHardLink(root, parent, name, entry.LinkName, entryName);
                    return; // the link shares the target's inode and metadata
                case TarEntryType.CharacterDevice or TarEntryType.BlockDevice or TarEntryType.Fifo:
                    RemoveLeaf(parent, name, entryName);
                    int type = entry.EntryType switch
                    {
                        TarEntryType.CharacterDevice => FileAt.S_IFCHR,
                        TarEntryType.BlockDevice => FileAt.S_IFBLK,
                        _ => FileAt.S_IFIFO,
                    };
                    ulong dev = entry is PosixTarEntry posix ? MakeDev((uint)posix.DeviceMajor, (uint)posix.DeviceMinor) : 0;
                    if (FileAt.MknodAt(parent, name, type | 0x180, dev) < 0)
                        throw Errno($"layer entry '{entryName}': mknod");
                    break;
                default:
                    throw new InvalidDataException($"layer entry '{entryName}': unsupported tar entry type {entry.EntryType}");
            }

            SetMetadata(parent, name, entry, entryName);
            if (entry.EntryType == TarEntryType.Directory)
                deferredTimes.Add((parts, entry.ModificationTime));
        }
        finally
        {
            CloseUnlessRoot(parent, root);
        }
    }

    private static void SetMetadata(int parent, string name, TarEntry entry, string entryName)
    {
        // Owner first: chown clears the set-id bits and file capabilities set before it.
        if (FileAt.FchownAt(parent, name, entry.Uid, entry.Gid, FileAt.AT_SYMLINK_NOFOLLOW) < 0)
            throw Errno($"layer entry '{entryName}': chown {entry.Uid}:{entry.Gid}");

        // The name was created just now by this thread and is not a symlink, so fchmodat's follow is harmless.
        if (entry.EntryType != TarEntryType.SymbolicLink && FileAt.FchmodAt(parent, name, (int)entry.Mode & 0xfff, 0) < 0)
            throw Errno($"layer entry '{entryName}': chmod");

        if (entry is PaxTarEntry pax)
        {
            foreach (var (key, value) in pax.ExtendedAttributes)
            {
                if (!key.StartsWith(XattrPrefix, StringComparison.Ordinal))
                    continue;
                string attribute = key[XattrPrefix.Length..];
                if (attribute.StartsWith(OverlayXattrPrefix, StringComparison.Ordinal))
                    continue;

                // System.Formats.Tar hands PAX values over decoded as UTF-8, so UTF-8 gives back the archived bytes
                // for text values; a binary value that is not valid UTF-8 (security.capability) cannot round-trip.
                if (FileAt.SetXattr(FileAt.ProcPath(parent, name), attribute, Encoding.UTF8.GetBytes(value)) < 0)
                    throw Errno($"layer entry '{entryName}': setxattr {attribute}");
            }
        }

        if (entry.EntryType != TarEntryType.Directory && FileAt.SetTimes(parent, name, entry.ModificationTime) < 0)
            throw Errno($"layer entry '{entryName}': set times");
    }

    private void ApplyWhiteout(int root, List<int> lowers, string[] parts, string entryName, List<(string[] Parts, DateTimeOffset Time)> deferredTimes)
    {
        string name = parts[^1];
        if (name == OpaqueMarker)
        {
            // The marker's parent is the opaque directory itself.
            int directory = OpenParent(root, parts, parts.Length - 1, entryName, new Parents(lowers, deferredTimes));
            try
            {
                if (whiteouts == WhiteoutStyle.Overlay)
                {
                    if (FileAt.SetXattr($"/proc/self/fd/{directory}/.", "trusted.overlay.opaque", "y"u8) < 0)
                        throw Errno($"layer entry '{entryName}': setxattr trusted.overlay.opaque");
                }
                else
                {
                    // Entries of this layer come after the marker (as archivers write it), so everything here now is lower content.
                    foreach (string child in Directory.EnumerateFileSystemEntries($"/proc/self/fd/{directory}"))
                        RemoveLeaf(directory, Path.GetFileName(child), entryName);
                }
            }
            finally
            {
                CloseUnlessRoot(directory, root);
            }

            return;
        }

        string target = name[WhiteoutPrefix.Length..];
        if (target.Length == 0 || target is "." or "..")
            throw new InvalidDataException($"layer entry '{entryName}': whiteout of '{target}' is invalid");

        int parent = OpenParent(root, parts, parts.Length - 1, entryName, new Parents(lowers, deferredTimes));
        try
        {
            RemoveLeaf(parent, target, entryName);
            if (whiteouts == WhiteoutStyle.Overlay && FileAt.MknodAt(parent, target, FileAt.S_IFCHR, 0) < 0)
                throw Errno($"layer entry '{entryName}': mknod whiteout");
        }
        finally
        {
            CloseUnlessRoot(parent, root);
        }
    }

    private static void CreateHardLink(int root, int parent, string name, string linkName, string entryName)
    {
        string[] target = Components(linkName, entryName);
        if (target.Length == 0)
            throw new InvalidDataException($"layer entry '{entryName}': hard link to the layer root");
        int targetParent = OpenParent(root, target, target.Length - 1, entryName, create: null);
        try
        {
            RemoveLeaf(parent, name, entryName);

            // Flags 0: a symlink target is linked itself, not followed.
            if (FileAt.LinkAt(targetParent, target[^1], parent, name, 0) < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == FileAt.ENOENT)
                    throw new InvalidDataException($"layer entry '{entryName}': hard link target '{linkName}' is not in the layer");
                throw Errno($"layer entry '{entryName}': link to '{linkName}'", errno);
            }
        }
        finally
        {
            CloseUnlessRoot(targetParent, root);
        }
    }

    /// <summary>The entry name's components: leading '/' and '.' dropped, '..' and NUL refused.</summary>
    private static string[] Components(string path, string entryName)
    {
        var parts = new List<string>();
        foreach (string part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == ".")
                continue;
            if (part == "..")
                throw new InvalidDataException($"layer entry '{entryName}': '{path}' has a '..' component");
            if (part.Contains('\0'))
                throw new InvalidDataException($"layer entry '{entryName}': '{path}' has a NUL byte");
            parts.Add(part);
        }

        return [.. parts];
    }

    /// <summary>
    /// Where the directories a layer leaves out come from (containerd's mkparent):
    /// the lower layers of the snapshot, top first, and the list the new
    /// directories' times go on (set last, as the layer's own directories' are).
    /// </summary>
    private sealed record Parents(List<int> Lowers, List<(string[] Parts, DateTimeOffset Time)> DeferredTimes);

    /// <summary>
    /// A descriptor of the directory <paramref name="parts"/>[..count] under root,
    /// walked one component at a time without following any symlink. With
    /// <paramref name="create"/> a missing directory is made as the nearest lower
    /// layer has it (owner, mode, mtime, xattrs), else 0755 root, so the layer does
    /// not hide the lower directory's metadata in the merged view. The caller
    /// closes it unless it is <paramref name="root"/>.
    /// </summary>
    private static int OpenParent(int root, string[] parts, int count, string entryName, Parents? create, bool missingOk = false)
    {
        int current = root;
        for (int i = 0; i < count; i++)
        {
            int next = FileAt.OpenAt(current, parts[i], DirectoryFlags, 0);
            int errno = next < 0 ? Marshal.GetLastPInvokeError() : 0;
            if (next < 0 && errno == FileAt.ENOENT && create is not null)
            {
                bool made = FileAt.MkdirAt(current, parts[i], 0x1ed) == 0;
                if (!made && Marshal.GetLastPInvokeError() != FileAt.EEXIST)
                {
                    errno = Marshal.GetLastPInvokeError();
                }
                else
                {
                    next = FileAt.OpenAt(current, parts[i], DirectoryFlags, 0);
                    errno = next < 0 ? Marshal.GetLastPInvokeError() : 0;
                    if (made && next >= 0)
                    {
                        try
                        {
                            CopyFromLower(create, parts, i + 1, next, entryName);
                        }
                        catch
                        {
                            FileAt.Close(next);
                            CloseUnlessRoot(current, root);
                            throw;
                        }
                    }
                }
            }

            CloseUnlessRoot(current, root);
            if (next < 0)
            {
                string prefix = string.Join('/', parts[..(i + 1)]);
                if (errno == FileAt.ENOENT && missingOk)
                    return -1;
                if (errno == FileAt.ENOENT)
                    throw new InvalidDataException($"layer entry '{entryName}': '{prefix}' does not exist in the layer");
                if (errno is FileAt.ELOOP or FileAt.ENOTDIR)
                    throw new InvalidDataException($"layer entry '{entryName}': '{prefix}' is a symlink or not a directory; entries are never created through a symlink");
                throw new InvalidDataException($"layer entry '{entryName}': cannot open '{prefix}': {Marshal.GetPInvokeErrorMessage(errno)}");
            }

            current = next;
        }

        return current;
    }

    /// <summary>
    /// Gives the directory <paramref name="created"/> (just made for <paramref name="parts"/>[..count])
    /// the owner, mode, xattrs and mtime of the same directory in the nearest lower layer that has it.
    /// </summary>
    private static void CopyFromLower(Parents parents, string[] parts, int count, int created, string entryName)
    {
        int lower = FindInLowers(parents.Lowers, parts, count);
        if (lower < 0)
            return;
        string path = string.Join('/', parts[..count]);
        try
        {
            if (!FileAt.TryStat(lower, out int uid, out int gid, out int mode, out var modified))
                throw Errno($"layer entry '{entryName}': stat '{path}' in a parent layer");
            if (FileAt.Fchown(created, uid, gid) < 0)
                throw Errno($"layer entry '{entryName}': chown parent directory '{path}' {uid}:{gid}");
            if (FileAt.Fchmod(created, mode) < 0)
                throw Errno($"layer entry '{entryName}': chmod parent directory '{path}'");

            var names = FileAt.ListXattrs(lower);
            if (names is null && Marshal.GetLastPInvokeError() != FileAt.ENOTSUP)
                throw Errno($"layer entry '{entryName}': list xattrs of '{path}' in a parent layer");
            foreach (string name in names ?? [])
            {
                // overlayfs's own markers describe the lower layer, not this one.
                if (name.StartsWith(OverlayXattrPrefix, StringComparison.Ordinal))
                    continue;
                byte[]? value = FileAt.GetXattr(lower, name);
                if (value is null)
                {
                    if (Marshal.GetLastPInvokeError() is FileAt.ENODATA or FileAt.ENOTSUP)
                        continue;
                    throw Errno($"layer entry '{entryName}': read xattr {name} of '{path}' in a parent layer");
                }

                if (FileAt.SetXattr(created, name, value) < 0 && Marshal.GetLastPInvokeError() != FileAt.ENOTSUP)
                    throw Errno($"layer entry '{entryName}': copy xattr {name} to parent directory '{path}'");
            }

            parents.DeferredTimes.Add((parts[..count], modified));
        }
        finally
        {
            FileAt.Close(lower);
        }
    }

    /// <summary>
    /// A descriptor of the directory <paramref name="parts"/>[..count] as the merged
    /// view of <paramref name="lowers"/> (top first) shows it, or -1: the first layer
    /// that has the name decides; a non-directory there (a file, a symlink, a
    /// whiteout) means nothing to copy, and an opaque directory on the way hides the
    /// layers below it. Lower layers are walked like the target: no symlink followed.
    /// </summary>
    private static int FindInLowers(List<int> lowers, string[] parts, int count)
    {
        foreach (int lower in lowers)
        {
            int current = lower;
            bool opaque = false;
            for (int i = 0; i < count; i++)
            {
                int next = FileAt.OpenAt(current, parts[i], DirectoryFlags, 0);
                int errno = next < 0 ? Marshal.GetLastPInvokeError() : 0;
                if (current != lower)
                    FileAt.Close(current);
                if (next < 0)
                {
                    if (errno != FileAt.ENOENT || opaque)
                        return -1;
                    current = -1;
                    break;
                }

                current = next;
                if (i < count - 1 && FileAt.GetXattr(current, "trusted.overlay.opaque") is [(byte)'y'])
                    opaque = true;
            }

            if (current >= 0)
                return current;
        }

        return -1;
    }

    /// <summary>Removes whatever <paramref name="name"/> is in <paramref name="parent"/> (a directory with its contents); absent is fine.</summary>
    private static void RemoveLeaf(int parent, string name, string entryName)
    {
        if (FileAt.UnlinkAt(parent, name, 0) == 0)
            return;
        int errno = Marshal.GetLastPInvokeError();
        if (errno == FileAt.ENOENT)
            return;
        if (errno == FileAt.EISDIR)
        {
            // The magic link names the trusted parent; 'name' is a real directory (unlink said so), and
            // Directory.Delete removes symlinks inside it without following them.
            Directory.Delete(FileAt.ProcPath(parent, name), recursive: true);
            return;
        }

        throw Errno($"layer entry '{entryName}': remove existing '{name}'", errno);
    }

    private static void CloseUnlessRoot(int fd, int root)
    {
        if (fd >= 0 && fd != root)
            FileAt.Close(fd);
    }

    /// <summary>glibc's makedev: 12 bits of major and 20 of minor, split the traditional way.</summary>
    private static ulong MakeDev(uint major, uint minor) =>
        ((ulong)(major & 0xfffff000) << 32) | ((ulong)(major & 0xfff) << 8) | ((ulong)(minor & 0xffffff00) << 12) | (minor & 0xff);

    private static IOException Errno(string what) => Errno(what, Marshal.GetLastPInvokeError());

    private static IOException Errno(string what, int errno) => new($"{what}: {Marshal.GetPInvokeErrorMessage(errno)}");
}
