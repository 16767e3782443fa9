namespace Containerd.Daemon.Cri.Specs;

/// <summary>
/// <c>linux.cgroupsPath</c> of a sandbox or container, one rule for both, as
/// containerd's getCgroupsPath: a parent whose last element ends in
/// <c>.slice</c> is a systemd slice and gets runc's systemd form
/// <c>SLICE:cri-containerd:ID</c> (runc must then run with
/// <c>--systemd-cgroup</c>, i.e. the runtime's SystemdCgroup setting); any other
/// parent is a cgroupfs path and gets <c>PARENT/ID</c>. Without a parent,
/// containerd's namespaced default <c>/k8s.io/ID</c>.
/// </summary>
public static class CgroupPaths
{
    public const string Namespace = "k8s.io";

    public static string For(string? cgroupParent, string id)
    {
        if (string.IsNullOrEmpty(cgroupParent))
            return $"/{Namespace}/{id}";
        var trimmed = cgroupParent.TrimEnd('/');
        var slash = trimmed.LastIndexOf('/');
        var last = slash >= 0 ? trimmed[(slash + 1)..] : trimmed;
        if (last.EndsWith(".slice", StringComparison.Ordinal))
            return $"{last}:cri-containerd:{id}";
        return trimmed.Length == 0 ? "/" + id : trimmed + "/" + id;
    }

    /// <summary>True when <see cref="For"/> gives the systemd form (the runtime must use the systemd cgroup driver).</summary>
    public static bool IsSystemd(string? cgroupParent)
    {
        if (string.IsNullOrEmpty(cgroupParent))
            return false;
        var trimmed = cgroupParent.TrimEnd('/');
        return trimmed[(trimmed.LastIndexOf('/') + 1)..].EndsWith(".slice", StringComparison.Ordinal);
    }
}
