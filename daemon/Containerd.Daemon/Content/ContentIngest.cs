using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using Containerd.Daemon.Native;

namespace Containerd.Daemon.Content;

/// <summary>
/// A resumable write of one expected blob, as containerd's ingest keyed by ref:
/// <c>ingest/HEX/data</c> holds the bytes received so far and <c>ingest/HEX/total</c>
/// the expected size. What a failed pull or a daemon restart leaves there is picked
/// up by the next write of the same digest (<see cref="ResumeAsync"/> hashes it
/// again); nothing becomes a blob before <see cref="CommitAsync"/> verified size and
/// digest. Made by <see cref="ContentStore.TryOpenIngest"/>, one at a time per digest;
/// disposing it closes the file and keeps the bytes for the next try.
/// </summary>
public sealed class ContentIngest : IAsyncDisposable
{
    private const int CopyBufferBytes = 128 * 1024;
    private const UnixFileMode OwnerReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private readonly string _directory;
    private readonly string _data;
    private readonly string _blob;
    private readonly Action _release;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private FileStream? _file;
    private bool _released;

    internal ContentIngest(string digest, long size, string directory, string blob, Action release)
    {
        Digest = digest;
        Size = size;
        _directory = directory;
        _data = Path.Combine(directory, "data");
        _blob = blob;
        _release = release;
    }

    /// <summary>The digest the bytes must have.</summary>
    public string Digest { get; }

    /// <summary>The size the bytes must have.</summary>
    public long Size { get; }

    /// <summary>How many bytes the ingest holds (and has hashed).</summary>
    public long Offset { get; private set; }

    /// <summary>
    /// Opens the ingest, hashing what an earlier try left; returns how many bytes
    /// it holds. A leftover that is longer than <see cref="Size"/> or was begun for
    /// another size is dropped (0).
    /// </summary>
    public async Task<long> ResumeAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(_directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var total = Path.Combine(_directory, "total");
        bool sameSize = File.Exists(total)
            && long.TryParse(await File.ReadAllTextAsync(total, cancellationToken).ConfigureAwait(false), NumberStyles.None, CultureInfo.InvariantCulture, out long recorded)
            && recorded == Size;
        if (!sameSize)
        {
            File.Delete(_data);
            await File.WriteAllTextAsync(total, Size.ToString(CultureInfo.InvariantCulture), cancellationToken).ConfigureAwait(false);
        }

        _file?.Dispose();
        _hash.GetHashAndReset();
        Offset = 0;
        _file = new FileStream(_data, new FileStreamOptions
        {
            Mode = FileMode.OpenOrCreate,
            Access = FileAccess.ReadWrite,
            Share = FileShare.None,
            BufferSize = 0,
            Options = FileOptions.Asynchronous,
            UnixCreateMode = OwnerReadWrite,
        });
        if (_file.Length > Size)
        {
            Restart();
            return 0;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(CopyBufferBytes);
        try
        {
            int read;
            while ((read = await _file.ReadAsync(buffer.AsMemory(0, CopyBufferBytes), cancellationToken).ConfigureAwait(false)) > 0)
            {
                _hash.AppendData(buffer, 0, read);
                Offset += read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return Offset;
    }

    /// <summary>Drops what the ingest holds: the next append starts the blob from its first byte.</summary>
    public void Restart()
    {
        var file = Data;
        file.SetLength(0);
        file.Position = 0;
        _hash.GetHashAndReset();
        Offset = 0;
    }

    /// <summary>
    /// Appends <paramref name="source"/> to the ingest. Bytes past <see cref="Size"/>
    /// are refused (<see cref="ContentDigestMismatchException"/>, and the ingest is
    /// dropped): a sender that never stops must not fill the disk. What was
    /// appended before a failure stays for the next try.
    /// </summary>
    public async Task AppendAsync(Stream source, CancellationToken cancellationToken)
    {
        var file = Data;
        file.Position = Offset;
        var buffer = ArrayPool<byte>.Shared.Rent(CopyBufferBytes);
        try
        {
            int read;
            while ((read = await source.ReadAsync(buffer.AsMemory(0, CopyBufferBytes), cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (Offset + read > Size)
                {
                    long received = Offset + read;
                    Discard();
                    throw new ContentDigestMismatchException(Digest, "(not computed: too long)", Size, received);
                }

                await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                _hash.AppendData(buffer, 0, read);
                Offset += read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Verifies size and digest and renames the data into place as the blob (fsynced
    /// first, the blob directory after). A mismatch drops the ingest and throws
    /// <see cref="ContentDigestMismatchException"/>; nothing becomes visible.
    /// </summary>
    public Task<ContentInfo> CommitAsync(CancellationToken cancellationToken)
    {
        var file = Data;
        string actual = ContentDigest.FromHash(_hash.GetCurrentHash());
        if (Offset != Size || actual != Digest)
        {
            long size = Offset;
            Discard();
            throw new ContentDigestMismatchException(Digest, actual, Size, size);
        }

        cancellationToken.ThrowIfCancellationRequested();
        file.Flush(flushToDisk: true);
        file.Dispose();
        _file = null;
        // Committed content is read-only, as the store's other writes leave it.
        File.SetUnixFileMode(_data, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        File.Move(_data, _blob, overwrite: true);
        DirectorySync.Flush(Path.GetDirectoryName(_blob)!);
        Directory.Delete(_directory, recursive: true);
        var blob = new FileInfo(_blob);
        return Task.FromResult(new ContentInfo(Digest, blob.Length, blob.LastWriteTimeUtc));
    }

    /// <summary>Removes the ingest and what it held.</summary>
    public void Discard()
    {
        _file?.Dispose();
        _file = null;
        _hash.GetHashAndReset();
        Offset = 0;
        if (Directory.Exists(_directory))
            Directory.Delete(_directory, recursive: true);
    }

    public async ValueTask DisposeAsync()
    {
        if (_file is { } file)
        {
            await file.DisposeAsync().ConfigureAwait(false);
            _file = null;
        }

        _hash.Dispose();
        if (!_released)
        {
            _released = true;
            _release();
        }
    }

    private FileStream Data => _file ?? throw new InvalidOperationException($"ingest of {Digest} is not open (ResumeAsync first)");
}
