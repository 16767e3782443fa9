namespace Containerd.Daemon.Content;

/// <summary>
/// A content-addressed blob store. A blob is visible only once complete and
/// verified: writers stream to a private temporary file and rename it into
/// place, so readers never see a partial blob. Digests are validated strictly
/// (<c>sha256:</c> + 64 lowercase hex) by every method, so a digest can never
/// name a path outside the store.
/// </summary>
public interface IContentStore
{
    /// <summary>
    /// Streams <paramref name="source"/> to a temporary file (fsynced), computes
    /// its sha256, verifies <paramref name="expectedDigest"/> and
    /// <paramref name="expectedSize"/> when given (a mismatch throws
    /// <see cref="ContentDigestMismatchException"/> naming both, and nothing
    /// becomes visible), then renames it into place. Writing a blob that exists
    /// is fine: concurrent writers of one blob all succeed.
    /// </summary>
    Task<ContentInfo> WriteAsync(Stream source, string? expectedDigest, long? expectedSize, CancellationToken cancellationToken);

    /// <summary>
    /// The resumable ingest of the blob <paramref name="expectedDigest"/> of
    /// <paramref name="expectedSize"/> bytes (what an earlier, failed write of it left
    /// is resumed), or null while another write of that digest holds it. A malformed
    /// digest throws <see cref="InvalidDigestException"/> before any path is made of it.
    /// </summary>
    ContentIngest? TryOpenIngest(string expectedDigest, long expectedSize);

    /// <summary>The blob's info, or null when absent. A malformed digest throws <see cref="InvalidDigestException"/>.</summary>
    ContentInfo? Info(string digest);

    /// <summary>The blob's bytes. A missing blob throws <see cref="ContentNotFoundException"/>; a malformed digest <see cref="InvalidDigestException"/>.</summary>
    Stream OpenRead(string digest);

    /// <summary>Removes the blob; false when it was absent. A malformed digest throws <see cref="InvalidDigestException"/>.</summary>
    bool Delete(string digest);

    /// <summary>Every committed blob, ordered by digest.</summary>
    IReadOnlyList<ContentInfo> List();
}
