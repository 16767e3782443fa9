namespace Containerd.UnitTests.Daemon.Cri.Stats;

/// <summary>A cgroup filesystem layout in a temporary directory: files written where a test says.</summary>
internal sealed class FakeCgroupTree : IDisposable
{
    public FakeCgroupTree()
    {
        Root = Path.Combine(Path.GetTempPath(), "cgtree-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }

    /// <summary>v1: one directory per controller; v2: cgroup.controllers at the root.</summary>
    public static FakeCgroupTree V1(params string[] controllers)
    {
        var tree = new FakeCgroupTree();
        foreach (var controller in controllers)
            Directory.CreateDirectory(Path.Combine(tree.Root, controller));
        return tree;
    }

    public static FakeCgroupTree V2()
    {
        var tree = new FakeCgroupTree();
        tree.Write("cgroup.controllers", "cpuset cpu io memory pids");
        return tree;
    }

    public string Write(string relativePath, string text)
    {
        var path = Path.Combine(Root, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    public string Dir(string relativePath) => Path.Combine(Root, relativePath);

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
