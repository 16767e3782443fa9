using System.Text;

namespace Containerd.Shared.Native;

/// <summary>
/// The kernel's mount table (/proc/self/mountinfo), for undoing mounts nobody
/// recorded: a dead shim's (the shim's delete), or anything left under a
/// bundle before the daemon removes it (a recursive delete must never reach
/// through a live bind mount into the files it exposes).
/// </summary>
public static class MountTable
{
    // Stacked mounts need one umount each; bounded in case one refuses.
    private const int MaxRounds = 16;

    /// <summary>Mount points at or below <paramref name="directory"/>, deepest first (stacked ones repeated, topmost first).</summary>
    public static List<string> MountsUnder(string directory) =>
        MountsUnder(File.ReadLines("/proc/self/mountinfo"), directory);

    /// <summary>As <see cref="MountsUnder(string)"/>, from mountinfo lines.</summary>
    public static List<string> MountsUnder(IEnumerable<string> mountinfo, string directory)
    {
        var prefix = directory.TrimEnd('/');
        var found = new List<string>();
        foreach (var line in mountinfo)
        {
            // id parent major:minor root mount-point options ...
            var fields = line.Split(' ');
            if (fields.Length < 5)
                continue;
            var mountPoint = Unescape(fields[4]);
            if (mountPoint == prefix || mountPoint.StartsWith(prefix + "/", StringComparison.Ordinal))
                found.Add(mountPoint);
        }
        // Later lines are mounted on top of earlier ones: reverse first, then a
        // stable sort puts deeper points first and keeps the top of a stack first.
        found.Reverse();
        return [.. found.OrderByDescending(p => p.Count(c => c == '/'))];
    }

    /// <summary>
    /// Lazily detaches (MNT_DETACH: a busy mount cannot block) everything at
    /// or below <paramref name="directory"/>. Returns what is still mounted
    /// afterwards, each with the kernel's reason.
    /// </summary>
    public static List<string> DetachAllUnder(string directory)
    {
        var failures = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var round = 0; round < MaxRounds; round++)
        {
            var mounts = MountsUnder(directory);
            if (mounts.Count == 0)
                return [];
            foreach (var mountPoint in mounts)
            {
                if (Libc.Umount2(mountPoint, Libc.MNT_DETACH) != 0)
                {
                    var errno = Libc.LastError;
                    // EINVAL/ENOENT: already gone with a parent detached in this round.
                    if (errno != Libc.EINVAL && errno != Libc.ENOENT)
                        failures[mountPoint] = Libc.ErrorText(errno);
                }
            }
        }
        return [.. MountsUnder(directory).Distinct().Select(p => failures.TryGetValue(p, out var why) ? $"{p} ({why})" : p)];
    }

    /// <summary>mountinfo escapes space, tab, newline and backslash as \ooo.</summary>
    public static string Unescape(string field)
    {
        if (!field.Contains('\\'))
            return field;
        var bytes = new List<byte>(field.Length);
        for (var i = 0; i < field.Length; i++)
        {
            if (field[i] == '\\' && i + 3 < field.Length && IsOctal(field[i + 1]) && IsOctal(field[i + 2]) && IsOctal(field[i + 3]))
            {
                bytes.Add((byte)(((field[i + 1] - '0') << 6) | ((field[i + 2] - '0') << 3) | (field[i + 3] - '0')));
                i += 3;
            }
            else
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(field[i].ToString()));
            }
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    private static bool IsOctal(char c) => c is >= '0' and <= '7';
}
