namespace Containerd.Tests.Support;

/// <summary>Where the built binaries and the busybox rootfs are (set by `make test`, else found from the repo).</summary>
public static class TestPaths
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string BinDir { get; } = Environment.GetEnvironmentVariable("CONTAINERD_BIN") is { Length: > 0 } bin
        ? bin
        : Path.Combine(RepoRoot, "out", "bin");

    public static string Rootfs { get; } = Environment.GetEnvironmentVariable("CONTAINERD_ROOTFS") is { Length: > 0 } rootfs
        ? rootfs
        : Path.Combine(RepoRoot, "out", "rootfs");

    public static string Daemon => Path.Combine(BinDir, "containerd");

    public static string Shim => Path.Combine(BinDir, "containerd-shim");

    public static string Ctr => Path.Combine(BinDir, "ctr");

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Containerd.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException("cannot find the repository root (Containerd.sln) above " + AppContext.BaseDirectory);
    }
}
