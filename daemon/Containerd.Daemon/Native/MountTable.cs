using System.Runtime.InteropServices;
using System.Text;

namespace Containerd.Daemon.Native;

/// <summary>
/// Reads the mount table and detaches mounts. Used before a bundle directory is
/// removed, so that a recursive delete can never reach through a live bind mount
/// into the files it exposes (a container rootfs is usually a bind of real data).
/// </summary>
public static partial class MountTable
{
    private const int MNT_DETACH = 2;

    [LibraryImport("libc", EntryPoint = "umount2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Umount2(string target, int flags);

    /// <summary>Mount points at or below <paramref name="directory"/>, deepest first.</summary>
    public static IReadOnlyList<string> MountsUnder(string directory)
    {
        var prefix = directory.TrimEnd('/');
        var found = new List<string>();
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            // mountinfo: id parent major:minor root mount-point options ...
            var fields = line.Split(' ');
            if (fields.Length < 5)
                continue;
            var mountPoint = Unescape(fields[4]);
            if (mountPoint == prefix || mountPoint.StartsWith(prefix + "/", StringComparison.Ordinal))
                found.Add(mountPoint);
        }
        // Deeper mounts first; the same point may be stacked several times.
        return found.OrderByDescending(p => p.Length).ToList();
    }

    /// <summary>
    /// Lazily unmounts everything at or below <paramref name="directory"/>.
    /// Returns the mount points that are still there afterwards.
    /// </summary>
    public static IReadOnlyList<string> DetachAllUnder(string directory)
    {
        // Stacked mounts need one umount each; bound the loop in case one refuses.
        for (var round = 0; round < 16; round++)
        {
            var mounts = MountsUnder(directory);
            if (mounts.Count == 0)
                return mounts;
            foreach (var mountPoint in mounts)
                Umount2(mountPoint, MNT_DETACH);
        }
        return MountsUnder(directory);
    }

    /// <summary>mountinfo escapes space, tab, newline and backslash as \ooo.</summary>
    private static string Unescape(string field)
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
