using System.Security.Cryptography;
using Containerd.Daemon.Content;

namespace Containerd.UnitTests.Daemon.Content;

/// <summary>
/// The content store on disk: a blob is visible only whole and verified, whatever
/// a writer does (a wrong digest or size, a failing source, a crash, a concurrent
/// writer of the same blob), and no digest ever reaches outside the blob directory.
/// </summary>
/// <remarks>
/// What a crash leaves is set up on disk by
/// <see cref="A_leftover_ingest_file_is_never_listed_and_start_up_removes_it"/>; the real
/// thing (a writer process killed with SIGKILL mid-write) is Containerd.Tests'
/// ContentCrashTests. Both hold because a blob path is only ever created by the rename of
/// a complete, fsynced, verified temporary file: a process killed before that rename
/// leaves an ingest file and no blob, one killed after it the whole blob.
/// </remarks>
public sealed class ContentStoreTests
{
    private DirectoryInfo _root = null!;
    private ContentStore _store = null!;

    private string Ingest => Path.Combine(_root.FullName, "ingest");

    private string Blobs => Path.Combine(_root.FullName, "blobs", "sha256");

    [SetUp]
    public void SetUp()
    {
        _root = Directory.CreateTempSubdirectory("content-");
        _store = new ContentStore(_root.FullName);
    }

    [TearDown]
    public void TearDown() => _root.Delete(recursive: true);

    [Test]
    public async Task A_blob_round_trips_and_is_listed_with_its_digest_and_size()
    {
        var data = RandomBytes(300_000);
        var info = await _store.WriteAsync(new MemoryStream(data), DigestOf(data), data.Length, CancellationToken.None);

        Assert.That(info.Digest, Is.EqualTo(DigestOf(data)));
        Assert.That(info.Size, Is.EqualTo(data.Length));
        Assert.That(info.CreatedAt.Kind, Is.EqualTo(DateTimeKind.Utc));
        Assert.That(info.CreatedAt, Is.EqualTo(DateTime.UtcNow).Within(TimeSpan.FromMinutes(1)));
        Assert.That(_store.Info(info.Digest), Is.EqualTo(info));
        Assert.That(_store.List(), Is.EqualTo(new[] { info }));
        Assert.That(File.Exists(Path.Combine(Blobs, info.Digest["sha256:".Length..])), "stored at blobs/sha256/HEX");
        await using (var read = _store.OpenRead(info.Digest))
        {
            var copy = new MemoryStream();
            await read.CopyToAsync(copy);
            Assert.That(copy.ToArray(), Is.EqualTo(data));
        }
        Assert.That(Directory.GetFileSystemEntries(Ingest), Is.Empty, "no temporary file left");
    }

    [Test]
    public async Task Without_expectations_the_digest_is_computed()
    {
        var data = "hello"u8.ToArray();
        var info = await _store.WriteAsync(new MemoryStream(data), null, null, CancellationToken.None);
        Assert.That(info.Digest, Is.EqualTo("sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"));
        Assert.That(info.Size, Is.EqualTo(5));
    }

    [Test]
    public async Task An_empty_blob_is_a_blob()
    {
        var info = await _store.WriteAsync(new MemoryStream(), null, 0, CancellationToken.None);
        Assert.That(info.Digest, Is.EqualTo("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
        Assert.That(_store.Info(info.Digest)?.Size, Is.Zero);
    }

    [Test]
    public async Task Corrupted_content_is_rejected_naming_both_digests_and_nothing_becomes_visible()
    {
        var data = RandomBytes(10_000);
        var expected = DigestOf(data);
        var corrupted = data.ToArray();
        corrupted[5000] ^= 0xff;

        var error = Assert.ThrowsAsync<ContentDigestMismatchException>(
            () => _store.WriteAsync(new MemoryStream(corrupted), expected, data.Length, CancellationToken.None));
        Assert.That(error!.Message, Does.Contain(expected).And.Contain(DigestOf(corrupted)));
        Assert.That(error.ExpectedDigest, Is.EqualTo(expected));
        Assert.That(error.ActualDigest, Is.EqualTo(DigestOf(corrupted)));
        AssertNothingStored(expected, DigestOf(corrupted));
    }

    [Test]
    public async Task A_wrong_size_is_rejected_and_nothing_becomes_visible()
    {
        var data = RandomBytes(1000);
        var error = Assert.ThrowsAsync<ContentDigestMismatchException>(
            () => _store.WriteAsync(new MemoryStream(data), DigestOf(data), 999, CancellationToken.None));
        Assert.That(error!.Message, Does.Contain("999").And.Contain("1000"));
        var truncated = Assert.ThrowsAsync<ContentDigestMismatchException>(
            () => _store.WriteAsync(new MemoryStream(data, 0, 500), null, 1000, CancellationToken.None));
        Assert.That(truncated!.Message, Does.Contain("500"));
        AssertNothingStored(DigestOf(data));
        await Task.CompletedTask;
    }

    [Test]
    public async Task Sixteen_concurrent_writers_of_one_blob_all_succeed_with_one_blob()
    {
        var data = RandomBytes(1_000_000);
        var digest = DigestOf(data);
        var writes = Enumerable.Range(0, 16)
            .Select(_ => Task.Run(() => _store.WriteAsync(new SlowStream(data), digest, data.Length, CancellationToken.None)))
            .ToArray();
        var infos = await Task.WhenAll(writes);

        Assert.That(infos.Select(i => i.Digest), Is.All.EqualTo(digest));
        Assert.That(infos.Select(i => i.Size), Is.All.EqualTo(data.Length));
        Assert.That(_store.List().Select(i => i.Digest), Is.EqualTo(new[] { digest }));
        Assert.That(await ReadAllAsync(digest), Is.EqualTo(data));
        Assert.That(Directory.GetFileSystemEntries(Ingest), Is.Empty);
    }

    [Test]
    public async Task Concurrent_writers_of_different_blobs_all_commit()
    {
        var blobs = Enumerable.Range(0, 16).Select(i => RandomBytes(50_000 + i)).ToArray();
        var infos = await Task.WhenAll(blobs.Select(data =>
            Task.Run(() => _store.WriteAsync(new SlowStream(data), DigestOf(data), data.Length, CancellationToken.None))));

        Assert.That(_store.List().Select(i => i.Digest), Is.EquivalentTo(blobs.Select(DigestOf)));
        Assert.That(_store.List().Select(i => i.Digest), Is.Ordered.Using((IComparer<string>)StringComparer.Ordinal));
        foreach (var data in blobs)
            Assert.That(await ReadAllAsync(DigestOf(data)), Is.EqualTo(data));
        Assert.That(infos, Has.Length.EqualTo(16));
        Assert.That(Directory.GetFileSystemEntries(Ingest), Is.Empty);
    }

    [Test]
    public void A_source_that_fails_mid_write_leaves_no_blob_and_no_temporary_file()
    {
        var data = RandomBytes(400_000);
        var source = new SlowStream(data) { FailAfter = 200_000 };

        Assert.ThrowsAsync<IOException>(() => _store.WriteAsync(source, DigestOf(data), data.Length, CancellationToken.None));
        AssertNothingStored(DigestOf(data));
    }

    [Test]
    public void A_cancelled_write_leaves_no_blob_and_no_temporary_file()
    {
        var data = RandomBytes(400_000);
        using var cancel = new CancellationTokenSource();
        var source = new SlowStream(data) { OnRead = offset => { if (offset > 100_000) cancel.Cancel(); } };

        Assert.That(() => _store.WriteAsync(source, null, null, cancel.Token), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(_store.List(), Is.Empty);
        Assert.That(Directory.GetFileSystemEntries(Ingest), Is.Empty);
    }

    [Test]
    public async Task A_leftover_ingest_file_is_never_listed_and_start_up_removes_it()
    {
        // What a writer killed mid-write leaves: part of the bytes in a temporary file, no blob.
        var data = RandomBytes(100_000);
        var kept = await _store.WriteAsync(new MemoryStream(RandomBytes(10)), null, null, CancellationToken.None);
        var leftover = Path.Combine(Ingest, Guid.NewGuid().ToString("N") + ".tmp");
        await File.WriteAllBytesAsync(leftover, data[..40_000]);
        Directory.CreateDirectory(Path.Combine(Ingest, "odd-directory"));

        // A new store over the same directory: what the restarted daemon sees.
        var restarted = new ContentStore(_root.FullName);
        Assert.That(restarted.List(), Is.EqualTo(new[] { kept }));
        Assert.That(restarted.Info(DigestOf(data)), Is.Null);
        Assert.Throws<ContentNotFoundException>(() => restarted.OpenRead(DigestOf(data)));

        Assert.That(restarted.RemoveIngestLeftovers(), Is.EqualTo(2));
        Assert.That(Directory.GetFileSystemEntries(Ingest), Is.Empty);
        Assert.That(restarted.List(), Is.EqualTo(new[] { kept }), "committed blobs are untouched");
        Assert.That(restarted.RemoveIngestLeftovers(), Is.Zero);
    }

    [Test]
    public void A_store_that_was_never_written_is_empty()
    {
        Assert.That(_store.List(), Is.Empty);
        Assert.That(_store.RemoveIngestLeftovers(), Is.Zero);
        Assert.That(_store.Info(DigestOf([1])), Is.Null);
        Assert.That(_store.Delete(DigestOf([1])), Is.False);
    }

    [Test]
    public void Files_in_the_blob_directory_that_are_not_blob_names_are_not_listed()
    {
        Directory.CreateDirectory(Blobs);
        File.WriteAllText(Path.Combine(Blobs, "notes.txt"), "x");
        File.WriteAllText(Path.Combine(Blobs, new string('A', 64)), "x");
        Assert.That(_store.List(), Is.Empty);
    }

    [TestCase("sha256:../../x")]
    [TestCase("sha256:../../../../etc/passwd")]
    [TestCase("sha256:2CF24DBA5FB0A30E26E83B2AC5B9E29E1B161E5C1FA7425E73043362938B9824")]
    [TestCase("sha256:2cf24dba")]
    [TestCase("sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b98240")]
    [TestCase("sha512:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")]
    [TestCase("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")]
    [TestCase("SHA256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")]
    [TestCase("sha256:/cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")]
    [TestCase("sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b982g")]
    [TestCase("")]
    public void A_malformed_digest_is_rejected_everywhere_naming_it(string digest)
    {
        void Rejects(TestDelegate call) =>
            Assert.That(Assert.Throws<InvalidDigestException>(call)!.Message, Does.Contain(digest));

        Rejects(() => _store.Info(digest));
        Rejects(() => _store.OpenRead(digest));
        Rejects(() => _store.Delete(digest));
        Assert.That(Assert.ThrowsAsync<InvalidDigestException>(
            () => _store.WriteAsync(new MemoryStream("hello"u8.ToArray()), digest, null, CancellationToken.None))!.Message, Does.Contain(digest));
        Assert.That(_store.List(), Is.Empty);
        Assert.That(Directory.Exists(Ingest) ? Directory.GetFileSystemEntries(Ingest) : [], Is.Empty);
    }

    [Test]
    public async Task Delete_removes_a_blob_once()
    {
        var data = RandomBytes(100);
        var other = await _store.WriteAsync(new MemoryStream(RandomBytes(200)), null, null, CancellationToken.None);
        var info = await _store.WriteAsync(new MemoryStream(data), null, null, CancellationToken.None);

        Assert.That(_store.Delete(info.Digest), Is.True);
        Assert.That(_store.Delete(info.Digest), Is.False);
        Assert.That(_store.Info(info.Digest), Is.Null);
        Assert.Throws<ContentNotFoundException>(() => _store.OpenRead(info.Digest));
        Assert.That(_store.List(), Is.EqualTo(new[] { other }));
    }

    [Test]
    public async Task A_reader_keeps_reading_a_blob_deleted_under_it()
    {
        var data = RandomBytes(200_000);
        var info = await _store.WriteAsync(new MemoryStream(data), null, null, CancellationToken.None);
        await using var reader = _store.OpenRead(info.Digest);
        Assert.That(_store.Delete(info.Digest), Is.True);
        var copy = new MemoryStream();
        await reader.CopyToAsync(copy);
        Assert.That(copy.ToArray(), Is.EqualTo(data));
    }

    [Test]
    public async Task Writing_an_existing_blob_returns_it_unchanged()
    {
        var data = RandomBytes(1000);
        var first = await _store.WriteAsync(new MemoryStream(data), null, null, CancellationToken.None);
        var second = await _store.WriteAsync(new MemoryStream(data), DigestOf(data), data.Length, CancellationToken.None);
        Assert.That(second, Is.EqualTo(first));
        Assert.That(Directory.GetFileSystemEntries(Ingest), Is.Empty);
    }

    [Test]
    public async Task Committed_blobs_are_read_only()
    {
        var info = await _store.WriteAsync(new MemoryStream(RandomBytes(10)), null, null, CancellationToken.None);
        var mode = File.GetUnixFileMode(Path.Combine(Blobs, info.Digest["sha256:".Length..]));
        Assert.That(mode & (UnixFileMode.UserWrite | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite), Is.EqualTo(UnixFileMode.None));
    }

    private void AssertNothingStored(params string[] digests)
    {
        foreach (var digest in digests)
        {
            Assert.That(_store.Info(digest), Is.Null, digest);
            Assert.Throws<ContentNotFoundException>(() => _store.OpenRead(digest));
        }
        Assert.That(_store.List(), Is.Empty);
        Assert.That(Directory.GetFileSystemEntries(Blobs), Is.Empty, "no blob file");
        Assert.That(Directory.GetFileSystemEntries(Ingest), Is.Empty, "no temporary file left");
    }

    private async Task<byte[]> ReadAllAsync(string digest)
    {
        await using var read = _store.OpenRead(digest);
        var copy = new MemoryStream();
        await read.CopyToAsync(copy);
        return copy.ToArray();
    }

    private static byte[] RandomBytes(int count) => RandomNumberGenerator.GetBytes(count);

    private static string DigestOf(byte[] data) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(data));

    /// <summary>A source that hands out small reads with a yield between them, so concurrent writers interleave; optionally fails part way.</summary>
    private sealed class SlowStream(byte[] data) : Stream
    {
        private int _position;

        public int FailAfter { get; init; } = int.MaxValue;

        public Action<int>? OnRead { get; init; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await Task.Yield();
            OnRead?.Invoke(_position);
            cancellationToken.ThrowIfCancellationRequested();
            if (_position >= FailAfter)
                throw new IOException("the source broke");
            var count = Math.Min(Math.Min(buffer.Length, 16 * 1024), data.Length - _position);
            data.AsMemory(_position, count).CopyTo(buffer);
            _position += count;
            return count;
        }

        public override int Read(byte[] buffer, int offset, int count) =>
            ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
