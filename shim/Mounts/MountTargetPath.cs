namespace Containerd.Shim.Mounts;

/// <summary>
/// The pure path logic of placing a mount target inside the rootfs. The
/// kernel (openat2 with RESOLVE_IN_ROOT) does the resolving; this only splits
/// the request into components, splices in the text of a dangling symlink
/// the resolver has to create the target of, and checks where a resolved
/// path ended up.
/// </summary>
internal static class MountTargetPath
{
    /// <summary>
    /// The target's components below the rootfs, with <c>.</c> and <c>..</c>
    /// resolved textually (as OCI runtimes treat a mount destination: a clean
    /// path). Null when a <c>..</c> climbs above the root: such a target cannot
    /// be placed inside the rootfs, and clamping it at the root silently would
    /// mount somewhere the caller did not ask for. Empty means the rootfs itself.
    /// </summary>
    public static List<string>? Components(string target)
    {
        var components = new List<string>();
        foreach (var part in target.Split('/'))
        {
            switch (part)
            {
                case "" or ".":
                    break;
                case "..":
                    if (components.Count == 0)
                        return null;
                    components.RemoveAt(components.Count - 1);
                    break;
                default:
                    components.Add(part);
                    break;
            }
        }
        return components;
    }

    /// <summary>
    /// Replaces the symlink <paramref name="path"/>[<paramref name="at"/>] (whose
    /// parent, <paramref name="path"/>[..at], resolves) with its text. An absolute
    /// link starts again at the rootfs (the rootfs is <c>/</c>), so nothing of the
    /// path is resolved yet; a relative one continues from the link's directory.
    /// Its <c>..</c> stay: the kernel resolves them after the components before
    /// them, clamped at the root, which textual cleaning would get wrong.
    /// </summary>
    /// <returns>The new path and how many of its leading components still resolve.</returns>
    public static (List<string> Path, int Resolved) Splice(IReadOnlyList<string> path, int at, string link)
    {
        var linkParts = link.Split('/').Where(p => p is not ("" or "."));
        var rest = path.Skip(at + 1);
        return link.StartsWith('/')
            ? ([.. linkParts, .. rest], 0)
            : ([.. path.Take(at), .. linkParts, .. rest], at);
    }

    /// <summary>Components as a path relative to the rootfs (<c>.</c> for the rootfs itself).</summary>
    public static string Join(IEnumerable<string> components)
    {
        var joined = string.Join('/', components);
        return joined.Length == 0 ? "." : joined;
    }

    /// <summary>
    /// <paramref name="resolved"/> (an absolute path the kernel reported) relative
    /// to <paramref name="root"/>: empty for the root itself, null when it is not
    /// at or below the root.
    /// </summary>
    public static string? Within(string root, string resolved)
    {
        var prefix = root.TrimEnd('/');
        if (resolved == prefix || (prefix.Length == 0 && resolved == "/"))
            return "";
        return resolved.StartsWith(prefix + "/", StringComparison.Ordinal) ? resolved[(prefix.Length + 1)..] : null;
    }
}
