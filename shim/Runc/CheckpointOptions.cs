namespace Containerd.Shim.Runc;

/// <summary>
/// One <c>runc checkpoint</c>: where CRIU writes its image and its log, and
/// what it may dump. The directories exist (the daemon made them and removes them).
/// </summary>
/// <param name="ImagePath">--image-path: CRIU's image files.</param>
/// <param name="WorkPath">--work-path: CRIU's log (dump.log), read when it fails.</param>
/// <param name="Exit">Stop the container after the dump; otherwise --leave-running.</param>
/// <param name="AllowTcp">--tcp-established.</param>
/// <param name="AllowUnixSockets">--ext-unix-sk.</param>
/// <param name="AllowTerminal">--shell-job.</param>
/// <param name="FileLocks">--file-locks.</param>
/// <param name="EmptyNamespaces">--empty-ns, once per namespace.</param>
/// <param name="ParentPath">--parent-path: an earlier image to dump against; null for none.</param>
internal sealed record CheckpointOptions(
    string ImagePath,
    string WorkPath,
    bool Exit,
    bool AllowTcp,
    bool AllowUnixSockets,
    bool AllowTerminal,
    bool FileLocks,
    IReadOnlyList<string> EmptyNamespaces,
    string? ParentPath);
