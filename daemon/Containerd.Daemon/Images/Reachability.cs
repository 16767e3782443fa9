using Containerd.Shared.Images;
using Containerd.Daemon.Snapshots;

namespace Containerd.Daemon.Images;

/// <summary>
/// The garbage collector's pure part: what the roots keep alive, and in which
/// order the rest can be removed. Kept free of stores so it is unit-tested alone.
/// </summary>
public static class Reachability
{
    /// <summary>
    /// Every digest reachable from <paramref name="roots"/> through
    /// <paramref name="childrenOf"/> (index → manifests → config and layers).
    /// Each blob is visited once, so a shared layer or a cycle costs nothing.
    /// </summary>
    public static async Task<Dictionary<string, BlobRef>> ContentAsync(
        IEnumerable<BlobRef> roots, Func<BlobRef, CancellationToken, Task<IReadOnlyList<BlobRef>>> childrenOf, CancellationToken cancellationToken)
    {
        var seen = new Dictionary<string, BlobRef>(StringComparer.Ordinal);
        var pending = new Stack<BlobRef>(roots);
        while (pending.TryPop(out var blob))
        {
            if (!seen.TryAdd(blob.Digest, blob))
                continue;
            foreach (var child in await childrenOf(blob, cancellationToken).ConfigureAwait(false))
                pending.Push(child);
        }
        return seen;
    }

    /// <summary>The snapshot keys in <paramref name="roots"/> that exist, and every parent of theirs.</summary>
    public static HashSet<string> Snapshots(IEnumerable<string> roots, IReadOnlyCollection<SnapshotInfo> all)
    {
        var byKey = all.ToDictionary(s => s.Key, StringComparer.Ordinal);
        var keep = new HashSet<string>(StringComparer.Ordinal);
        foreach (var root in roots)
        {
            var key = root;
            // Stops at a key already kept: its parents are kept too.
            while (key is not null && byKey.TryGetValue(key, out var info) && keep.Add(key))
                key = info.Parent;
        }
        return keep;
    }

    /// <summary>
    /// The snapshots not in <paramref name="keep"/>, children before their
    /// parents (a snapshotter refuses to remove a parent first).
    /// </summary>
    public static List<string> RemovalOrder(IReadOnlyCollection<SnapshotInfo> all, IReadOnlySet<string> keep)
    {
        var byKey = all.ToDictionary(s => s.Key, StringComparer.Ordinal);
        int Depth(SnapshotInfo info)
        {
            var depth = 0;
            var visited = new HashSet<string>(StringComparer.Ordinal);
            for (var parent = info.Parent; parent is not null && visited.Add(parent) && byKey.TryGetValue(parent, out var p); parent = p.Parent)
                depth++;
            return depth;
        }
        return all.Where(s => !keep.Contains(s.Key))
            .OrderByDescending(Depth)
            .ThenBy(s => s.Key, StringComparer.Ordinal)
            .Select(s => s.Key)
            .ToList();
    }
}
