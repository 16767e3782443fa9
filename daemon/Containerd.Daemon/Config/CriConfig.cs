namespace Containerd.Daemon.Config;

/// <summary>The <c>[cri]</c> table: what the kubelet's runtime (the CRI adapter) needs of the host.</summary>
/// <param name="SandboxImage">
/// The image every pod sandbox runs (containerd's <c>sandbox_image</c>): a pause-like
/// image whose process only holds the pod's namespaces. Empty: RunPodSandbox fails and
/// says to set it (no default, so no registry is named for the operator).
/// </param>
/// <param name="CniBinDir">
/// Where CNI plugin binaries are: directories separated by ':', searched in order. containerd's
/// /opt/cni/bin first, then /usr/lib/cni, where Debian's containernetworking-plugins puts them.
/// </param>
/// <param name="CniConfDir">Where the CNI network configuration is (the first .conf/.conflist/.json in lexical order).</param>
/// <param name="NetnsDir">Where pod network namespaces are bind-mounted (as <c>ip netns</c> keeps them).</param>
/// <param name="MaxContainerLogLineSize">Longer lines are split into partial (P) records.</param>
public sealed record CriConfig(string SandboxImage, string CniBinDir, string CniConfDir, string NetnsDir, int MaxContainerLogLineSize)
{
    public IReadOnlyList<string> CniBinDirs => CniBinDir.Split(':', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public static CriConfig Default { get; } = new(
        SandboxImage: "",
        CniBinDir: "/opt/cni/bin:/usr/lib/cni",
        CniConfDir: "/etc/cni/net.d",
        NetnsDir: "/var/run/netns",
        MaxContainerLogLineSize: 16 * 1024);
}
