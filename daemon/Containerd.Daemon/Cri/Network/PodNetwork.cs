namespace Containerd.Daemon.Cri.Network;

/// <summary>
/// The pod's network as CNI set it up: the addresses of its main interface
/// (<see cref="CniNetwork.DefaultInterfaceName"/>) ordered as containerd picks
/// them: the first IPv4 address is the CRI pod IP, the others (in the order the
/// plugins gave them) are the additional IPs.
/// </summary>
/// <param name="InterfaceName">The pod-side interface, <c>eth0</c>.</param>
/// <param name="Ips">The first IPv4 address (if any) first, then the rest in result order.</param>
/// <param name="ResultJson">The configured network's final CNI result, as its last plugin printed it.</param>
public sealed record PodNetwork(string InterfaceName, IReadOnlyList<PodIp> Ips, string ResultJson)
{
    /// <summary>CRI's PodSandboxNetworkStatus.ip: the first address, or empty when CNI gave none.</summary>
    public string PrimaryIp => Ips.Count > 0 ? Ips[0].Address : "";

    /// <summary>CRI's additional_ips: every address after the first.</summary>
    public IEnumerable<string> AdditionalIps => Ips.Skip(1).Select(ip => ip.Address);
}
