using System.Security.Cryptography;

namespace Containerd.Tests.Support;

/// <summary>
/// The daemon's content store as files (ROOT/content/blobs/sha256/HEX), for
/// tests that must put a blob in (there is no Write RPC) or compare what is there.
/// </summary>
public sealed class ContentDirectory(DaemonProcess daemon)
{
    private string Blobs => Path.Combine(daemon.RootDir, "content", "blobs", "sha256");

    /// <summary>Every blob's digest, sorted.</summary>
    public IReadOnlyList<string> List() =>
        Directory.Exists(Blobs)
            ? [.. Directory.EnumerateFiles(Blobs).Select(f => "sha256:" + Path.GetFileName(f)).Order(StringComparer.Ordinal)]
            : [];

    /// <summary>Stores the bytes as the daemon would (whole file renamed into place); returns the digest.</summary>
    public string Put(byte[] bytes)
    {
        var hex = Convert.ToHexStringLower(SHA256.HashData(bytes));
        Directory.CreateDirectory(Blobs);
        var temporary = Path.Combine(Blobs, "." + hex + ".tmp");
        File.WriteAllBytes(temporary, bytes);
        File.Move(temporary, Path.Combine(Blobs, hex), overwrite: true);
        return "sha256:" + hex;
    }

    public void Remove(string digest) => File.Delete(Path.Combine(Blobs, digest["sha256:".Length..]));
}
