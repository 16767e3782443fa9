namespace Containerd.Shared.Users;

/// <summary>One line of /etc/group: its name, gid and the user names listed as members.</summary>
public sealed record GroupEntry(string Name, uint Gid, IReadOnlyList<string> Members);
