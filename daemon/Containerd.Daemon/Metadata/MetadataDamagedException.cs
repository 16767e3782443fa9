namespace Containerd.Daemon.Metadata;

/// <summary>
/// The metadata database cannot be trusted. The message is the one line an
/// operator reads: which file, what is wrong, and what to do about it.
/// An <see cref="IOException"/>, so start-up reports it like any other unusable path.
/// </summary>
public sealed class MetadataDamagedException(string databasePath, string problem)
    : IOException($"metadata database {databasePath} is damaged ({problem}): restore it from a backup, "
        + $"or move it aside (mv {databasePath} {databasePath}.damaged) to start with no container records; running tasks are left alone")
{
    public string DatabasePath { get; } = databasePath;
}
