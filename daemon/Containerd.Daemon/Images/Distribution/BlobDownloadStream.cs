namespace Containerd.Daemon.Images.Distribution;

/// <summary>
/// A read-only view of a blob's HTTP body that reports progress and stops a
/// registry that sends more than the descriptor's size (the store verifies digest
/// and size only at the end; without this an endless body would fill the disk).
/// A body that resumes a download (HTTP 206) starts at <paramref name="start"/>:
/// progress and the size limit count the bytes the store already had.
/// </summary>
public sealed class BlobDownloadStream(Stream inner, string digest, string mediaType, long size, IProgress<PullProgress>? progress, string where, long start = 0) : Stream
{
    // Progress at most every 1 MiB: a layer of hundreds of MiB would otherwise post thousands of reports.
    private const long ReportEvery = 1 << 20;

    private long _done = start;
    private long _reported = start;

    public long BytesRead => _done;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _done; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer) => Count(inner.Read(buffer));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        int read;
        try
        {
            read = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            throw new RegistryException(RegistryErrorKind.Unavailable, $"{where}: connection broke after {_done} of {size} bytes: {e.Message}", innerException: e);
        }
        return Count(read);
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            inner.Dispose();
        base.Dispose(disposing);
    }

    private int Count(int read)
    {
        _done += read;
        if (_done > size)
            throw new RegistryException(RegistryErrorKind.DigestMismatch, $"{where}: the registry sent more than the descriptor's {size} bytes");
        if (read == 0)
        {
            progress?.Report(new PullProgress(digest, mediaType, _done, size, PullPhase.Verifying));
        }
        else if (_done - _reported >= ReportEvery)
        {
            _reported = _done;
            progress?.Report(new PullProgress(digest, mediaType, _done, size, PullPhase.Downloading));
        }
        return read;
    }
}
