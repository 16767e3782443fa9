namespace Containerd.Shared.Users;

/// <summary>One line of /etc/passwd, the fields a container's process needs.</summary>
public sealed record PasswdEntry(string Name, uint Uid, uint Gid);
