namespace Containerd.Shim.Runc;

/// <summary>The fds a runc create/exec child gets as 0/1/2 (they become the container process's stdio).</summary>
internal interface IRuncStdio
{
    int ChildStdin { get; }
    int ChildStdout { get; }
    int ChildStderr { get; }

    /// <summary>
    /// For a terminal process: the socket runc sends the pty master to
    /// (<c>--console-socket</c>); runc then gets /dev/null as 0/1/2 instead of
    /// the child fds. Null without a terminal.
    /// </summary>
    string? ConsoleSocket { get; }

    /// <summary>
    /// Called right after runc was spawned: the shim must drop its copies of
    /// the child's pipe ends at once, or it would never see EOF on them.
    /// </summary>
    void OnSpawned();
}
