namespace Containerd.Daemon.Cri.Network;

/// <summary>One address CNI gave the pod.</summary>
/// <param name="Address">The address alone, e.g. <c>10.22.3.4</c> or <c>fd00::4</c> (what CRI reports as the pod IP).</param>
/// <param name="Cidr">The address with its prefix length, e.g. <c>10.22.3.4/24</c>.</param>
/// <param name="Gateway">The gateway the plugin reported, if any.</param>
public sealed record PodIp(string Address, string Cidr, string? Gateway)
{
    public bool IsIPv4 => !Address.Contains(':', StringComparison.Ordinal);
}
