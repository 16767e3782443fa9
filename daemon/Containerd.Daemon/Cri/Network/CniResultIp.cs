using System.Net;

namespace Containerd.Daemon.Cri.Network;

/// <summary>An address of a CNI result, with the index of its interface in the result when the plugin gave one.</summary>
public sealed record CniResultIp(IPAddress Address, int PrefixLength, string? Gateway, int? Interface)
{
    public PodIp ToPodIp() => new(Address.ToString(), $"{Address}/{PrefixLength}", Gateway);
}
