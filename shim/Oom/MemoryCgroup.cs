using System.Globalization;
using System.Text;

namespace Containerd.Shim.Oom;

/// <summary>
/// The memory cgroup of a process, as a directory the shim can open: the
/// <c>memory</c> line of <c>/proc/PID/cgroup</c> (cgroup v1) or its
/// <c>0::</c> line (v2), joined to where that hierarchy is mounted in
/// <c>/proc/self/mountinfo</c>. On a hybrid host (memory on v1, an empty
/// unified hierarchy beside it) the v1 controller wins: v2 has no memory
/// files then. The parsers are pure so the unit tests can feed them text.
/// </summary>
internal sealed class MemoryCgroup(string directory, bool unified)
{
    /// <summary>The cgroup's directory, e.g. /sys/fs/cgroup/memory/default/ctr1.</summary>
    public string Directory { get; } = directory;

    /// <summary>True for cgroup v2 (memory.events), false for v1 (memory.oom_control).</summary>
    public bool Unified { get; } = unified;

    /// <summary>The file whose <c>oom_kill</c> line counts the cgroup's OOM kills.</summary>
    public string CounterFile => Path.Combine(Directory, Unified ? "memory.events" : "memory.oom_control");

    public override string ToString() => $"{Directory} (cgroup {(Unified ? "v2" : "v1")})";

    /// <summary>The memory cgroup of <paramref name="pid"/>; null with a reason when it has none the shim can watch.</summary>
    public static MemoryCgroup? Locate(int pid, out string problem)
    {
        string procCgroup, mountInfo;
        try
        {
            procCgroup = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/cgroup");
            mountInfo = File.ReadAllText("/proc/self/mountinfo");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problem = e.Message;
            return null;
        }
        var cgroup = Resolve(procCgroup, mountInfo, out problem);
        if (cgroup is not null && !File.Exists(cgroup.CounterFile))
        {
            // v2 without the memory controller enabled for this cgroup, or a kernel without the counter file.
            problem = $"{cgroup.CounterFile} does not exist";
            return null;
        }
        return cgroup;
    }

    /// <summary>Joins the contents of /proc/PID/cgroup to those of /proc/self/mountinfo.</summary>
    public static MemoryCgroup? Resolve(string procCgroup, string mountInfo, out string problem)
    {
        problem = "";
        if (ControllerPath(procCgroup, "memory") is { } v1Path)
        {
            foreach (var mount in CgroupMounts(mountInfo, unified: false))
            {
                if (mount.SuperOptions.Split(',').Contains("memory") && Join(mount.Root, mount.MountPoint, v1Path) is { } directory)
                    return new MemoryCgroup(directory, unified: false);
            }
            problem = $"the memory cgroup {v1Path} is not under any mounted cgroup v1 memory hierarchy";
            return null;
        }
        if (ControllerPath(procCgroup, "") is { } v2Path)
        {
            foreach (var mount in CgroupMounts(mountInfo, unified: true))
            {
                if (Join(mount.Root, mount.MountPoint, v2Path) is { } directory)
                    return new MemoryCgroup(directory, unified: true);
            }
            problem = $"the cgroup {v2Path} is not under any mounted cgroup2 hierarchy";
            return null;
        }
        problem = "the process has no memory cgroup";
        return null;
    }

    /// <summary>
    /// The path of the line for <paramref name="controller"/> in a
    /// /proc/PID/cgroup text ("ID:CONTROLLERS:PATH"; CONTROLLERS is a comma
    /// list on v1, empty on the v2 line "0::PATH"). Pass "" for the v2 line.
    /// </summary>
    public static string? ControllerPath(string procCgroup, string controller)
    {
        foreach (var line in procCgroup.Split('\n'))
        {
            var first = line.IndexOf(':');
            var second = first < 0 ? -1 : line.IndexOf(':', first + 1);
            if (second < 0)
                continue;
            var controllers = line[(first + 1)..second];
            var path = line[(second + 1)..];
            if (path.Length == 0)
                continue;
            var matches = controller.Length == 0
                ? controllers.Length == 0 && line[..first] == "0"
                : controllers.Split(',').Contains(controller);
            if (matches)
                return path;
        }
        return null;
    }

    /// <summary>
    /// The cgroup (v1: fstype "cgroup") or cgroup2 mounts in a mountinfo
    /// text: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS".
    /// </summary>
    public static IEnumerable<(string Root, string MountPoint, string SuperOptions)> CgroupMounts(string mountInfo, bool unified)
    {
        var wanted = unified ? "cgroup2" : "cgroup";
        foreach (var line in mountInfo.Split('\n'))
        {
            var fields = line.Split(' ');
            var separator = Array.IndexOf(fields, "-");
            if (separator < 6 || fields.Length < separator + 4 || fields[separator + 1] != wanted)
                continue;
            yield return (Unescape(fields[3]), Unescape(fields[4]), fields[separator + 3]);
        }
    }

    /// <summary>
    /// Where <paramref name="cgroupPath"/> is, seen through a mount of the
    /// hierarchy's <paramref name="root"/> at <paramref name="mountPoint"/>;
    /// null when the mount does not show that cgroup.
    /// </summary>
    public static string? Join(string root, string mountPoint, string cgroupPath)
    {
        var rootDir = root.TrimEnd('/');
        if (cgroupPath != rootDir && !cgroupPath.StartsWith(rootDir + "/", StringComparison.Ordinal))
            return null;
        var rest = cgroupPath[rootDir.Length..].TrimStart('/');
        return rest.Length == 0 ? mountPoint : Path.Combine(mountPoint, rest);
    }

    /// <summary>The value of the "<paramref name="key"/> N" line of a memory.events or memory.oom_control text.</summary>
    public static long? ReadCounter(string text, string key)
    {
        foreach (var line in text.Split('\n'))
        {
            var space = line.IndexOf(' ');
            if (space > 0 && line.AsSpan(0, space).SequenceEqual(key)
                && long.TryParse(line.AsSpan(space + 1).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value))
                return value;
        }
        return null;
    }

    /// <summary>mountinfo escapes space, tab, newline and backslash as \ and three octal digits.</summary>
    private static string Unescape(string field)
    {
        if (!field.Contains('\\'))
            return field;
        var text = new StringBuilder(field.Length);
        for (var i = 0; i < field.Length; i++)
        {
            if (field[i] == '\\' && i + 3 < field.Length
                && IsOctal(field[i + 1]) && IsOctal(field[i + 2]) && IsOctal(field[i + 3]))
            {
                text.Append((char)(((field[i + 1] - '0') << 6) | ((field[i + 2] - '0') << 3) | (field[i + 3] - '0')));
                i += 3;
            }
            else
            {
                text.Append(field[i]);
            }
        }
        return text.ToString();
    }

    private static bool IsOctal(char c) => c is >= '0' and <= '7';
}
