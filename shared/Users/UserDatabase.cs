using System.Globalization;

namespace Containerd.Shared.Users;

/// <summary>
/// An image's /etc/passwd and /etc/group, and the resolution of an OCI user
/// string (<c>user</c>, <c>uid</c>, <c>user:group</c>, <c>uid:gid</c>,
/// <c>uid:group</c>, <c>user:gid</c>) against them with containerd's rules
/// (oci.WithUser, WithUserID, WithUsername, WithAdditionalGIDs):
/// <list type="bullet">
/// <item>"" is root, 0:0.</item>
/// <item>A lone uid takes its gid from passwd when the uid is there, else 0; a missing file is fine.</item>
/// <item>A name must be in passwd (a missing file is an error naming it) and gives uid and gid.</item>
/// <item>With <c>:group</c> the group decides the gid: numeric as is, a name from /etc/group.</item>
/// <item>Additional gids: the primary gid, then every group listing the user's name as a
///   member (except a group of the user's own name), when /etc/group exists.</item>
/// </list>
/// One leniency containerd lacks: <c>root</c> (user or group) needs no file, so images
/// without /etc/passwd keep running as root, as they did when only numbers were accepted.
/// </summary>
public sealed class UserDatabase
{
    /// <summary>runc refuses ids above int32 (containerd's minUserID..maxUserID).</summary>
    public const uint MaxId = int.MaxValue;

    private readonly IReadOnlyList<PasswdEntry>? _users;
    private readonly IReadOnlyList<GroupEntry>? _groups;
    private readonly string _source;

    private UserDatabase(IReadOnlyList<PasswdEntry>? users, IReadOnlyList<GroupEntry>? groups, string source)
    {
        _users = users;
        _groups = groups;
        _source = source;
    }

    /// <summary>No files at all: enough for a numeric user (no lookups, gid 0 unless given).</summary>
    /// <param name="source">What has no files, for messages: "image NAME", "rootfs DIR".</param>
    public static UserDatabase None(string source) => new(null, null, source);

    /// <param name="passwd">The text of /etc/passwd, or null when the file does not exist.</param>
    /// <param name="group">The text of /etc/group, or null when the file does not exist.</param>
    /// <param name="source">What the files belong to, for messages: "image NAME", "rootfs DIR".</param>
    public static UserDatabase Parse(string? passwd, string? group, string source) =>
        new(passwd is null ? null : ParsePasswd(passwd), group is null ? null : ParseGroup(group), source);

    /// <summary>
    /// Whether resolving USER needs the files at all: only when a part is a name.
    /// Numeric users (and "") resolve without them, so callers can skip reading an image.
    /// </summary>
    public static bool NeedsFiles(string user) => user.Length > 0 && user.Split(':').Any(part => !IsNumeric(part));

    /// <summary>
    /// passwd(5) lines, name:password:uid:gid:gecos:dir:shell. As libc's getpwent, a
    /// line it cannot read is skipped (fewer than four fields, an empty name, an id that
    /// is not a number), never read as uid 0; blank lines, comments (#) and NIS
    /// compat lines (+/-) are skipped too. The first line for a name or uid wins.
    /// </summary>
    public static IReadOnlyList<PasswdEntry> ParsePasswd(string text)
    {
        var users = new List<PasswdEntry>();
        foreach (var fields in Lines(text))
        {
            if (fields.Length >= 4 && TryId(fields[2], out var uid) && TryId(fields[3], out var gid))
                users.Add(new PasswdEntry(fields[0], uid, gid));
        }
        return users;
    }

    /// <summary>group(5) lines, name:password:gid:member,member; skipped like passwd's when unreadable.</summary>
    public static IReadOnlyList<GroupEntry> ParseGroup(string text)
    {
        var groups = new List<GroupEntry>();
        foreach (var fields in Lines(text))
        {
            if (fields.Length < 3 || !TryId(fields[2], out var gid))
                continue;
            var members = fields.Length >= 4
                ? fields[3].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                : [];
            groups.Add(new GroupEntry(fields[0], gid, members));
        }
        return groups;
    }

    /// <exception cref="UserLookupException">The string is malformed, an id out of range, or a name not found.</exception>
    public ProcessUser Resolve(string user)
    {
        if (user.Length == 0)
            return WithAdditionalGids(0, 0, "root");

        var parts = user.Split(':');
        if (parts.Length > 2)
            throw new UserLookupException($"invalid user \"{user}\": expected user[:group] with one ':' at most");
        if (parts.Any(p => p.Length == 0))
            throw new UserLookupException($"invalid user \"{user}\": empty {(parts[0].Length == 0 ? "user" : "group")}");

        uint uid;
        uint gid;
        string? name;
        if (IsNumeric(parts[0]))
        {
            uid = Id(parts[0], "uid", user);
            // containerd's WithUserID: the passwd entry of that uid, if any, gives the gid and the name for the groups.
            var entry = _users?.FirstOrDefault(u => u.Uid == uid);
            name = entry?.Name;
            gid = entry?.Gid ?? 0;
        }
        else
        {
            var entry = FindUser(parts[0]);
            (uid, gid, name) = (entry.Uid, entry.Gid, entry.Name);
        }

        if (parts.Length == 2)
            gid = IsNumeric(parts[1]) ? Id(parts[1], "gid", user) : FindGroup(parts[1]);
        return WithAdditionalGids(uid, gid, name);
    }

    private PasswdEntry FindUser(string name)
    {
        if (_users is null)
        {
            if (name == "root")
                return new PasswdEntry("root", 0, 0);
            throw new UserLookupException($"{_source} has no /etc/passwd to look up user \"{name}\" in");
        }
        return _users.FirstOrDefault(u => u.Name == name)
            ?? throw new UserLookupException($"no users found matching \"{name}\" in /etc/passwd of {_source}");
    }

    private uint FindGroup(string name)
    {
        if (_groups is null)
        {
            if (name == "root")
                return 0;
            throw new UserLookupException($"{_source} has no /etc/group to look up group \"{name}\" in");
        }
        return _groups.FirstOrDefault(g => g.Name == name)?.Gid
            ?? throw new UserLookupException($"no groups found matching \"{name}\" in /etc/group of {_source}");
    }

    private ProcessUser WithAdditionalGids(uint uid, uint gid, string? name)
    {
        List<uint> gids = [gid];
        if (name is not null && _groups is not null)
        {
            foreach (var group in _groups)
            {
                if (group.Name != name && group.Members.Contains(name) && !gids.Contains(group.Gid))
                    gids.Add(group.Gid);
            }
        }
        return new ProcessUser(uid, gid, gids);
    }

    private static IEnumerable<string[]> Lines(string text)
    {
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or '+' or '-')
                continue;
            var fields = line.Split(':');
            if (fields[0].Length > 0)
                yield return fields;
        }
    }

    private static bool TryId(string text, out uint id) =>
        uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out id) && id <= MaxId;

    /// <summary>As containerd's strconv.Atoi test: an optional sign and digits is a number (perhaps out of range), anything else a name.</summary>
    private static bool IsNumeric(string text)
    {
        var digits = text.StartsWith('-') || text.StartsWith('+') ? text.AsSpan(1) : text.AsSpan();
        return digits.Length > 0 && digits.IndexOfAnyExceptInRange('0', '9') < 0;
    }

    private static uint Id(string text, string what, string user)
    {
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var id) && id is >= 0 and <= MaxId)
            return (uint)id;
        throw new UserLookupException($"invalid user \"{user}\": {what} {text} out of range (0 to {MaxId})");
    }
}
