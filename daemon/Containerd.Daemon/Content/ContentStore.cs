using System.Buffers;
using System.Security.Cryptography;
using Containerd.Daemon.Native;

namespace Containerd.Daemon.Content;

/// <summary>
/// The content store on disk: committed blobs in <c>blobs/sha256/HEX</c>,
/// writes in progress in <c>ingest/</c> under <paramref name="directory"/>
/// (the daemon's <c>ROOT/content</c>).
/// </summary>
/// <remarks>
/// A blob only ever appears by a rename of a complete, fsynced, verified
/// temporary file from <c>ingest/</c> (same filesystem, so rename(2) is atomic),
/// followed by an fsync of the blob directory. A reader, or a process that
/// restarts after a crash at any point of a write, therefore sees either the
/// whole verified blob or nothing; what a crash leaves is a temporary file in
/// <c>ingest/</c>, which <see cref="List"/> never looks at and
/// <see cref="RemoveIngestLeftovers()"/> deletes at daemon start (a resumable
/// <see cref="ContentIngest"/> it keeps for a day). Temporary
/// names are random, so writers never share one; two writers of one blob both
/// rename identical bytes into place, and either rename is a complete blob.
/// </remarks>
public sealed class ContentStore(string directory) : IContentStore
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    // As containerd: committed content is immutable, so nobody (not even the owner, by mistake) writes to it.
    private const UnixFileMode ReadOnly = UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    private const int CopyBufferBytes = 128 * 1024;
    private const string TemporarySuffix = ".tmp";

    /// <summary>containerd's ingest expiry: a resumable download untouched this long is not worth resuming.</summary>
    public static readonly TimeSpan IngestExpiry = TimeSpan.FromDays(1);

    private readonly string _blobs = Path.Combine(directory, "blobs", ContentDigest.Algorithm);
    private readonly string _ingest = Path.Combine(directory, "ingest");

    // The digests whose resumable ingest is open in this process: one writer each (the root's lock keeps other processes out).
    private readonly HashSet<string> _ingesting = new(StringComparer.Ordinal);

    /// <inheritdoc/>
    public ContentIngest? TryOpenIngest(string expectedDigest, long expectedSize)
    {
        var hex = ContentDigest.Hex(expectedDigest);
        ArgumentOutOfRangeException.ThrowIfNegative(expectedSize);
        lock (_ingesting)
        {
            if (!_ingesting.Add(hex))
                return null;
        }

        try
        {
            EnsureDirectories();
        }
        catch
        {
            Release(hex);
            throw;
        }

        return new ContentIngest(expectedDigest, expectedSize, Path.Combine(_ingest, hex), BlobPath(hex), () => Release(hex));
    }

    private void Release(string hex)
    {
        lock (_ingesting)
            _ingesting.Remove(hex);
    }

    public async Task<ContentInfo> WriteAsync(Stream source, string? expectedDigest, long? expectedSize, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (expectedDigest is not null)
            ContentDigest.Hex(expectedDigest);
        if (expectedSize is < 0)
            throw new ArgumentOutOfRangeException(nameof(expectedSize), expectedSize, "a size is never negative");
        EnsureDirectories();

        var temporary = Path.Combine(_ingest, Guid.NewGuid().ToString("N") + TemporarySuffix);
        try
        {
            var (digest, size) = await CopyAndHashAsync(source, temporary, cancellationToken).ConfigureAwait(false);
            if ((expectedDigest is not null && expectedDigest != digest) || (expectedSize is { } wanted && wanted != size))
                throw new ContentDigestMismatchException(expectedDigest ?? digest, digest, expectedSize, size);

            var blob = BlobPath(ContentDigest.Hex(digest));
            if (Info(digest) is { } existing)
            {
                File.Delete(temporary);
                return existing;
            }
            cancellationToken.ThrowIfCancellationRequested();
            // rename(2), replacing a blob another writer committed meanwhile: the bytes are the same.
            File.Move(temporary, blob, overwrite: true);
            DirectorySync.Flush(_blobs);
            return Info(digest) ?? throw new ContentNotFoundException(digest); // deleted at once by someone else
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    public ContentInfo? Info(string digest)
    {
        var file = new FileInfo(BlobPath(ContentDigest.Hex(digest)));
        return file.Exists ? ToInfo(digest, file) : null;
    }

    public Stream OpenRead(string digest)
    {
        var path = BlobPath(ContentDigest.Hex(digest));
        try
        {
            // FileShare.Delete: a reader does not stop a Delete; it keeps reading the unlinked blob.
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete,
                bufferSize: 0, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ContentNotFoundException(digest);
        }
    }

    public bool Delete(string digest)
    {
        var file = new FileInfo(BlobPath(ContentDigest.Hex(digest)));
        if (!file.Exists)
            return false;
        // No directory fsync: a delete lost to a power cut leaves a whole blob, never a broken one.
        file.Delete();
        return true;
    }

    public IReadOnlyList<ContentInfo> List()
    {
        var blobs = new DirectoryInfo(_blobs);
        if (!blobs.Exists)
            return [];
        return blobs.EnumerateFiles()
            .Where(file => ContentDigest.IsHexName(file.Name))
            .Select(file => ToInfo($"{ContentDigest.Algorithm}:{file.Name}", file))
            .OrderBy(info => info.Digest, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>
    /// Deletes what writes that never finished left in <c>ingest/</c> (a crash,
    /// a kill -9) and returns how many entries it removed. A resumable ingest
    /// (<c>ingest/HEX/</c>, see <see cref="ContentIngest"/>) is kept for the next
    /// pull of its blob unless it is older than <see cref="IngestExpiry"/>; anything
    /// else goes. Only while nothing writes: the daemon calls it at start-up,
    /// holding the root's lock.
    /// </summary>
    public int RemoveIngestLeftovers() => RemoveIngestLeftovers(DateTime.UtcNow);

    /// <summary><see cref="RemoveIngestLeftovers()"/> as of <paramref name="now"/>.</summary>
    public int RemoveIngestLeftovers(DateTime now)
    {
        var ingest = new DirectoryInfo(_ingest);
        if (!ingest.Exists)
            return 0;
        var removed = 0;
        foreach (var entry in ingest.EnumerateFileSystemInfos())
        {
            if (entry is DirectoryInfo subdirectory)
            {
                if (ContentDigest.IsHexName(subdirectory.Name) && LastTouched(subdirectory) is { } touched && now - touched < IngestExpiry)
                    continue;
                subdirectory.Delete(recursive: true);
            }
            else
            {
                entry.Delete();
            }
            removed++;
        }
        return removed;
    }

    /// <summary>When a resumable ingest last received bytes (its data file), or null when it holds none.</summary>
    private static DateTime? LastTouched(DirectoryInfo ingest)
    {
        var data = new FileInfo(Path.Combine(ingest.FullName, "data"));
        return data.Exists && (data.Attributes & FileAttributes.ReparsePoint) == 0 ? data.LastWriteTimeUtc : null;
    }

    private static async Task<(string Digest, long Size)> CopyAndHashAsync(Stream source, string temporary, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent(CopyBufferBytes);
        try
        {
            long size = 0;
            var file = new FileStream(temporary, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                Share = FileShare.None,
                BufferSize = 0,
                Options = FileOptions.Asynchronous,
                UnixCreateMode = ReadOnly,
            });
            await using (file.ConfigureAwait(false))
            {
                int read;
                while ((read = await source.ReadAsync(buffer.AsMemory(0, CopyBufferBytes), cancellationToken).ConfigureAwait(false)) > 0)
                {
                    hash.AppendData(buffer, 0, read);
                    await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                    size += read;
                }
                // fsync before the rename: otherwise a power cut could leave a named blob whose bytes never reached the disk.
                file.Flush(flushToDisk: true);
            }
            return (ContentDigest.FromHash(hash.GetHashAndReset()), size);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void EnsureDirectories()
    {
        // Each level with the owner-only mode (CreateDirectory applies it to every directory it makes).
        Directory.CreateDirectory(_blobs, OwnerOnly);
        Directory.CreateDirectory(_ingest, OwnerOnly);
    }

    private string BlobPath(string hex) => Path.Combine(_blobs, hex);

    private static ContentInfo ToInfo(string digest, FileInfo file) =>
        // The blob is never written after its rename, so its last write is when its content was complete.
        new(digest, file.Length, file.LastWriteTimeUtc);

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left for the next start-up's RemoveIngestLeftovers.
        }
    }
}
