namespace Containerd.Daemon.Content;

/// <summary>
/// The one digest form the store accepts: <c>sha256:</c> and 64 lowercase hex
/// digits. Checked before a digest is ever joined to a path, so no digest
/// (<c>sha256:../../x</c>, an absolute path, another algorithm) can name a
/// file outside the blob directory.
/// </summary>
public static class ContentDigest
{
    public const string Algorithm = "sha256";

    private const string Prefix = Algorithm + ":";
    private const int HexLength = 64;

    /// <summary>The hex part of <paramref name="digest"/>; throws <see cref="InvalidDigestException"/> unless it is well formed.</summary>
    public static string Hex(string? digest)
    {
        if (digest is null || !IsValid(digest))
            throw new InvalidDigestException(digest ?? "(null)");
        return digest[Prefix.Length..];
    }

    public static bool IsValid(string digest) =>
        digest.Length == Prefix.Length + HexLength
        && digest.StartsWith(Prefix, StringComparison.Ordinal)
        && IsLowerHex(digest.AsSpan(Prefix.Length));

    /// <summary>True for a blob file's name: exactly 64 lowercase hex digits.</summary>
    public static bool IsHexName(string name) => name.Length == HexLength && IsLowerHex(name);

    public static string FromHash(ReadOnlySpan<byte> sha256) => Prefix + Convert.ToHexStringLower(sha256);

    private static bool IsLowerHex(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (c is not ((>= '0' and <= '9') or (>= 'a' and <= 'f')))
                return false;
        }
        return true;
    }
}
