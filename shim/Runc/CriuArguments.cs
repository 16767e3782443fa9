namespace Containerd.Shim.Runc;

/// <summary>
/// The runc command lines of checkpoint and restore (after runc's global
/// options), built in one pure place so they can be checked without runc.
/// </summary>
internal static class CriuArguments
{
    public static string[] Checkpoint(string id, CheckpointOptions options)
    {
        var args = new List<string> { "checkpoint", "--image-path", options.ImagePath, "--work-path", options.WorkPath };
        // runc's default is to stop the container once dumped; containerd's too, unless asked to leave it.
        if (!options.Exit)
            args.Add("--leave-running");
        if (options.AllowTcp)
            args.Add("--tcp-established");
        if (options.AllowUnixSockets)
            args.Add("--ext-unix-sk");
        if (options.AllowTerminal)
            args.Add("--shell-job");
        if (options.FileLocks)
            args.Add("--file-locks");
        foreach (var ns in options.EmptyNamespaces)
        {
            args.Add("--empty-ns");
            args.Add(ns);
        }
        if (!string.IsNullOrEmpty(options.ParentPath))
        {
            args.Add("--parent-path");
            args.Add(options.ParentPath);
        }
        args.Add(id);
        return [.. args];
    }

    /// <summary>
    /// <c>--no-subreaper</c> as containerd's shim: the shim is the subreaper
    /// that must end up with the restored init (and reap it).
    /// </summary>
    public static string[] Restore(string id, RestoreOptions options, string? consoleSocket)
    {
        var args = new List<string>
        {
            "restore", "--detach", "--no-subreaper",
            "--image-path", options.ImagePath, "--work-path", options.WorkPath,
            "--bundle", options.Bundle, "--pid-file", options.PidFile,
        };
        if (consoleSocket is not null)
        {
            args.Add("--console-socket");
            args.Add(consoleSocket);
        }
        args.Add(id);
        return [.. args];
    }
}
