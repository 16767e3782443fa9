using System.Security.Cryptography;
using Containerd.Daemon.Content;

namespace Containerd.UnitTests.Daemon.Content;

/// <summary>
/// The resumable ingest (ingest/HEX/): kept across a failed write and a restart,
/// resumed from what it holds, one writer per digest, verified before anything is
/// visible, dropped when it cannot be the blob, and expired by start-up after a day.
/// </summary>
public sealed class ContentIngestTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    private DirectoryInfo _root = null!;
    private ContentStore _store = null!;

    private string Ingest => Path.Combine(_root.FullName, "ingest");

    private string Blobs => Path.Combine(_root.FullName, "blobs", "sha256");

    [SetUp]
    public void SetUp()
    {
        _root = Directory.CreateTempSubdirectory("ingest-");
        _store = new ContentStore(_root.FullName);
    }

    [TearDown]
    public void TearDown() => _root.Delete(recursive: true);

    private static string DigestOf(byte[] data) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(data));

    private async Task WriteHalfAsync(byte[] data)
    {
        await using var ingest = _store.TryOpenIngest(DigestOf(data), data.Length)!;
        Assert.That(await ingest.ResumeAsync(None), Is.Zero);
        await ingest.AppendAsync(new MemoryStream(data[..(data.Length / 2)]), None);
    }

    [Test]
    public async Task Half_a_blob_survives_a_restart_and_the_rest_completes_it()
    {
        var data = RandomNumberGenerator.GetBytes(300_000);
        await WriteHalfAsync(data);
        Assert.That(_store.Info(DigestOf(data)), Is.Null, "no partial blob is visible");
        Assert.That(_store.List(), Is.Empty);

        var restarted = new ContentStore(_root.FullName);
        Assert.That(restarted.RemoveIngestLeftovers(), Is.Zero, "a fresh resumable ingest is kept at start-up");
        await using (var ingest = restarted.TryOpenIngest(DigestOf(data), data.Length)!)
        {
            Assert.That(await ingest.ResumeAsync(None), Is.EqualTo(150_000));
            await ingest.AppendAsync(new MemoryStream(data[150_000..]), None);
            var info = await ingest.CommitAsync(None);
            Assert.That((info.Digest, info.Size), Is.EqualTo((DigestOf(data), (long)data.Length)));
        }

        Assert.That(File.ReadAllBytes(Path.Combine(Blobs, DigestOf(data)[7..])), Is.EqualTo(data));
        Assert.That(Directory.GetFileSystemEntries(Ingest), Is.Empty, "the ingest is gone once committed");
    }

    [Test]
    public async Task One_writer_per_digest_at_a_time()
    {
        var data = RandomNumberGenerator.GetBytes(10);
        var first = _store.TryOpenIngest(DigestOf(data), data.Length);
        Assert.That(first, Is.Not.Null);
        Assert.That(_store.TryOpenIngest(DigestOf(data), data.Length), Is.Null);
        await first!.DisposeAsync();
        await using var again = _store.TryOpenIngest(DigestOf(data), data.Length);
        Assert.That(again, Is.Not.Null);
    }

    [Test]
    public void A_malformed_digest_names_no_path()
    {
        foreach (var digest in new[] { "sha256:../../x", "sha512:" + new string('a', 128), "sha256:" + new string('A', 64), "/etc/passwd" })
            Assert.Throws<InvalidDigestException>(() => _store.TryOpenIngest(digest, 1), digest);
        Assert.That(Directory.Exists(Ingest), Is.False);
    }

    [Test]
    public async Task Bytes_that_do_not_verify_are_dropped_and_nothing_is_visible()
    {
        var data = RandomNumberGenerator.GetBytes(1000);
        var wrong = (byte[])data.Clone();
        wrong[500] ^= 1;
        await using var ingest = _store.TryOpenIngest(DigestOf(data), data.Length)!;
        await ingest.ResumeAsync(None);
        await ingest.AppendAsync(new MemoryStream(wrong), None);

        var error = Assert.ThrowsAsync<ContentDigestMismatchException>(() => ingest.CommitAsync(None));

        Assert.That(error!.ActualDigest, Is.EqualTo(DigestOf(wrong)));
        Assert.That(_store.Info(DigestOf(data)), Is.Null);
        Assert.That(Directory.GetFileSystemEntries(Ingest), Is.Empty);
        Assert.That(await ingest.ResumeAsync(None), Is.Zero, "a later try starts from nothing");
    }

    [Test]
    public async Task More_bytes_than_the_size_are_refused_and_dropped()
    {
        var data = RandomNumberGenerator.GetBytes(1000);
        await using var ingest = _store.TryOpenIngest(DigestOf(data), 999)!;
        await ingest.ResumeAsync(None);
        Assert.ThrowsAsync<ContentDigestMismatchException>(() => ingest.AppendAsync(new MemoryStream(data), None));
        Assert.That(Directory.GetFileSystemEntries(Ingest), Is.Empty);
    }

    [Test]
    public async Task A_leftover_longer_than_the_blob_or_for_another_size_starts_over()
    {
        var data = RandomNumberGenerator.GetBytes(1000);
        await WriteHalfAsync(data);
        await using (var other = _store.TryOpenIngest(DigestOf(data), 2000)!)
            Assert.That(await other.ResumeAsync(None), Is.Zero, "begun for another size");

        await WriteHalfAsync(data);
        var hex = DigestOf(data)[7..];
        await File.AppendAllBytesAsync(Path.Combine(Ingest, hex, "data"), new byte[600]);
        await using var ingest = _store.TryOpenIngest(DigestOf(data), data.Length)!;
        Assert.That(await ingest.ResumeAsync(None), Is.Zero, "1100 bytes cannot be a prefix of 1000");
        await ingest.AppendAsync(new MemoryStream(data), None);
        await ingest.CommitAsync(None);
        Assert.That(_store.Info(DigestOf(data))!.Size, Is.EqualTo(1000));
    }

    [Test]
    public async Task Start_up_expires_an_ingest_older_than_a_day_and_removes_other_leftovers()
    {
        var data = RandomNumberGenerator.GetBytes(1000);
        await WriteHalfAsync(data);
        await File.WriteAllTextAsync(Path.Combine(Ingest, "0123.tmp"), "a unique temporary file");
        Directory.CreateDirectory(Path.Combine(Ingest, new string('a', 64))); // a resumable ingest holding nothing

        Assert.That(_store.RemoveIngestLeftovers(DateTime.UtcNow), Is.EqualTo(2));
        Assert.That(Directory.GetFileSystemEntries(Ingest).Select(Path.GetFileName), Is.EqualTo(new[] { DigestOf(data)[7..] }));
        Assert.That(_store.RemoveIngestLeftovers(DateTime.UtcNow + ContentStore.IngestExpiry + TimeSpan.FromMinutes(1)), Is.EqualTo(1));
        Assert.That(Directory.GetFileSystemEntries(Ingest), Is.Empty);
    }
}
