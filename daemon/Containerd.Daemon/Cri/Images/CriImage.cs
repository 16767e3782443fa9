using Containerd.Shared.Images;

namespace Containerd.Daemon.Cri.Images;

/// <summary>
/// An image as the CRI sees it: one image id (its config digest) with every
/// record name that resolves to it, tags and digest references alike.
/// </summary>
/// <param name="Id">The config digest, <c>sha256:…</c>: what CRI calls the image id and image_ref.</param>
/// <param name="Names">The image records' names, sorted.</param>
/// <param name="Targets">Each name's target digest (an index or a manifest), for repo digests.</param>
public sealed record CriImage(string Id, IReadOnlyList<string> Names, IReadOnlyDictionary<string, string> Targets, ResolvedImage Resolved)
{
    /// <summary>What the image takes in the content store: manifest, config and (compressed) layers, as containerd counts it.</summary>
    public long Size => Resolved.Manifest.Size + Resolved.Config.Size + Resolved.Layers.Sum(l => l.Size);

    /// <summary><c>repo:tag</c> names.</summary>
    public IEnumerable<string> RepoTags => Names.Where(n => !n.Contains('@', StringComparison.Ordinal) && !n.StartsWith("sha256:", StringComparison.Ordinal));

    /// <summary><c>repo@digest</c> for each repository, the digest being the record's target (as containerd reports it).</summary>
    public IEnumerable<string> RepoDigests => Names
        .Where(n => !n.StartsWith("sha256:", StringComparison.Ordinal))
        .Select(n => $"{Repository(n)}@{Targets[n]}")
        .Distinct(StringComparer.Ordinal)
        .Order(StringComparer.Ordinal);

    /// <summary>A name without its tag and digest.</summary>
    public static string Repository(string name)
    {
        var at = name.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
            name = name[..at];
        var slash = name.LastIndexOf('/');
        var colon = name.LastIndexOf(':');
        return colon > slash ? name[..colon] : name;
    }
}
