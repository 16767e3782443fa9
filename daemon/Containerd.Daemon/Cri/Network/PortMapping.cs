namespace Containerd.Daemon.Cri.Network;

/// <summary>
/// One pod port published on the host (CRI's PortMapping). As in containerd, a
/// mapping without a host port (0 or less) is not handed to CNI.
/// </summary>
/// <param name="ContainerPort">The port inside the pod.</param>
/// <param name="HostPort">The host port; 0 or less: not published.</param>
/// <param name="Protocol">TCP, UDP or SCTP.</param>
/// <param name="HostIp">The host address to bind; null or empty: all.</param>
public sealed record PortMapping(int ContainerPort, int HostPort, PortProtocol Protocol = PortProtocol.Tcp, string? HostIp = null);
