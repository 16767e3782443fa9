using System.Text.Json.Nodes;

namespace Containerd.Daemon.Cri.Stats;

/// <summary>
/// Finds the directories of a cgroup named the way an OCI spec's
/// <c>linux.cgroupsPath</c> (or a pod's cgroup parent) names it, on this
/// host's layout: cgroup v2 (unified, detected by
/// <c>ROOT/cgroup.controllers</c>) or v1 (one hierarchy per controller under
/// <c>ROOT/CONTROLLER</c>, possibly co-mounted as <c>cpu,cpuacct</c>).
/// <para>
/// Three spellings are understood, as runc understands them:
/// a cgroupfs path (<c>/kubepods/burstable/podX/ID</c>; a relative one is
/// relative to the caller's own cgroup, as runc joins it with its own);
/// a systemd triplet <c>slice:prefix:name</c> (→ the slice expanded as systemd
/// nests it, then <c>prefix-name.scope</c>); and a bare systemd slice name
/// (<c>kubepods-burstable-podX.slice</c>, the cgroup parent of a pod in systemd mode).
/// </para>
/// </summary>
public sealed class CgroupLocator
{
    /// <summary>The usual mount point of the cgroup filesystems.</summary>
    public const string DefaultRoot = "/sys/fs/cgroup";

    private readonly string _root;
    private readonly string _ownCgroupFile;

    /// <param name="root">Where the cgroup filesystems are mounted (a fake tree in tests).</param>
    /// <param name="ownCgroupFile">
    /// The caller's <c>/proc/self/cgroup</c>: relative cgroupfs paths are joined
    /// to the cgroup it names for each controller (runc runs as our child, in our cgroup).
    /// </param>
    public CgroupLocator(string root = DefaultRoot, string ownCgroupFile = "/proc/self/cgroup")
    {
        _root = root;
        _ownCgroupFile = ownCgroupFile;
    }

    /// <summary>cgroup v2 only (the unified hierarchy is mounted at the root).</summary>
    public bool IsUnified => File.Exists(Path.Combine(_root, "cgroup.controllers"));

    /// <summary>
    /// The directories of <paramref name="cgroupsPath"/>. Throws
    /// <see cref="FormatException"/> for a name runc would refuse (an
    /// invalid slice, a triplet of the wrong shape, a path climbing out with <c>..</c>).
    /// </summary>
    public CgroupPaths Locate(string cgroupsPath)
    {
        var (relative, inOwnCgroup) = Resolve(cgroupsPath);
        if (IsUnified)
        {
            var dir = Join(_root, inOwnCgroup ? Join(OwnCgroup(""), relative) : relative);
            return new CgroupPaths(true, dir, dir, dir, dir);
        }
        return new CgroupPaths(
            false,
            V1Directory("cpu", relative, inOwnCgroup),
            V1Directory("cpuacct", relative, inOwnCgroup),
            V1Directory("memory", relative, inOwnCgroup),
            V1Directory("pids", relative, inOwnCgroup));
    }

    /// <summary><c>linux.cgroupsPath</c> of an OCI spec; null when it has none (or it is not a string).</summary>
    public static string? CgroupsPathOf(JsonNode? spec) =>
        spec?["linux"]?["cgroupsPath"] is JsonValue value && value.TryGetValue<string>(out var path) && path.Length > 0 ? path : null;

    /// <summary>
    /// A systemd slice name as the path systemd gives it: <c>a-b-c.slice</c> →
    /// <c>a.slice/a-b.slice/a-b-c.slice</c>; <c>-.slice</c> (the root slice) → "".
    /// </summary>
    public static string ExpandSlice(string slice)
    {
        const string suffix = ".slice";
        if (!slice.EndsWith(suffix, StringComparison.Ordinal) || slice.Contains('/'))
            throw new FormatException($"invalid systemd slice name \"{slice}\": it must end in .slice and contain no '/'");
        if (slice == "-" + suffix)
            return "";
        var name = slice[..^suffix.Length];
        var parts = name.Split('-');
        if (parts.Any(p => p.Length == 0))
            throw new FormatException($"invalid systemd slice name \"{slice}\": empty component between dashes");
        var dirs = new List<string>(parts.Length);
        var prefix = "";
        foreach (var part in parts)
        {
            prefix = prefix.Length == 0 ? part : prefix + "-" + part;
            dirs.Add(prefix + suffix);
        }
        return string.Join('/', dirs);
    }

    /// <summary>
    /// The cgroup path below the hierarchy's root that <paramref name="cgroupsPath"/>
    /// names (without a leading '/'), and whether it is relative to our own cgroup.
    /// </summary>
    public static (string Path, bool RelativeToOwnCgroup) Resolve(string cgroupsPath)
    {
        if (string.IsNullOrEmpty(cgroupsPath))
            throw new FormatException("empty cgroups path");

        if (!cgroupsPath.StartsWith('/') && cgroupsPath.Count(c => c == ':') == 2)
        {
            // systemd: "slice:prefix:name"; an empty slice is system.slice, as runc's systemd driver has it.
            var parts = cgroupsPath.Split(':');
            var slice = parts[0].Length == 0 ? "system.slice" : parts[0];
            var (prefix, name) = (parts[1], parts[2]);
            if (name.Length == 0)
                throw new FormatException($"invalid systemd cgroups path \"{cgroupsPath}\": the unit name is empty");
            if (name.Contains('/'))
                throw new FormatException($"invalid systemd cgroups path \"{cgroupsPath}\": the unit name contains '/'");
            // runc makes a scope unless the name is itself a slice, which then nests in its parent slice.
            var unit = name.EndsWith(".slice", StringComparison.Ordinal) ? name : $"{prefix}-{name}.scope";
            var path = Join(ExpandSlice(slice), unit);
            return (path, false);
        }

        if (!cgroupsPath.Contains('/') && cgroupsPath.EndsWith(".slice", StringComparison.Ordinal))
            return (ExpandSlice(cgroupsPath), false);

        var segments = cgroupsPath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (segments.Any(s => s is ".." or "."))
            throw new FormatException($"invalid cgroups path \"{cgroupsPath}\": '.' and '..' are not allowed");
        return (string.Join('/', segments), !cgroupsPath.StartsWith('/'));
    }

    private string? V1Directory(string controller, string relative, bool inOwnCgroup)
    {
        var mount = V1Mount(controller);
        if (mount is null)
            return null;
        return Join(mount, inOwnCgroup ? Join(OwnCgroup(controller), relative) : relative);
    }

    /// <summary>ROOT/CONTROLLER, or a co-mounted hierarchy named e.g. cpu,cpuacct; null when not mounted.</summary>
    private string? V1Mount(string controller)
    {
        var direct = Path.Combine(_root, controller);
        if (Directory.Exists(direct))
            return direct;
        try
        {
            return Directory.EnumerateDirectories(_root)
                .FirstOrDefault(d => Path.GetFileName(d).Split(',').Contains(controller, StringComparer.Ordinal));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Our own cgroup for a v1 controller ("" for v2's "0::" line), without the leading '/'; "" when unknown.</summary>
    private string OwnCgroup(string controller)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(_ownCgroupFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
        foreach (var line in lines)
        {
            // "ID:CONTROLLERS:PATH"; the path may itself contain ':'.
            var first = line.IndexOf(':');
            var second = first < 0 ? -1 : line.IndexOf(':', first + 1);
            if (second < 0)
                continue;
            var controllers = line[(first + 1)..second];
            var matches = controller.Length == 0
                ? controllers.Length == 0
                : controllers.Split(',').Contains(controller, StringComparer.Ordinal);
            if (matches)
                return line[(second + 1)..].Trim('/');
        }
        return "";
    }

    private static string Join(string a, string b) =>
        b.Length == 0 ? a : a.Length == 0 ? b : a.TrimEnd('/') + "/" + b.TrimStart('/');
}
