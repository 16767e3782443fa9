using System.Security.Cryptography;
using System.Text;

namespace Containerd.Shared.Images;

/// <summary>
/// OCI chain ids: the name of the snapshot holding layers 0..n applied in order.
/// ChainID(L0) = DiffID(L0); ChainID(L0..n) = sha256(ChainID(L0..n-1) + " " + DiffID(Ln)).
/// </summary>
public static class ChainIds
{
    /// <summary>One chain id per layer, bottom first; the last names the whole image.</summary>
    public static List<string> Of(IReadOnlyList<string> diffIds)
    {
        var result = new List<string>(diffIds.Count);
        string? previous = null;
        foreach (var diffId in diffIds)
        {
            previous = previous is null
                ? diffId
                : "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(previous + " " + diffId)));
            result.Add(previous);
        }
        return result;
    }
}
