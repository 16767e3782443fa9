namespace Containerd.Daemon.Cri.Network;

/// <summary>The transport of a <see cref="PortMapping"/>; CNI's portmap plugin wants it lower case.</summary>
public enum PortProtocol
{
    Tcp,
    Udp,
    Sctp,
}
