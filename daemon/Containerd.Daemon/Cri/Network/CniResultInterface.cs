namespace Containerd.Daemon.Cri.Network;

/// <summary>An interface of a CNI result; <see cref="Sandbox"/> is the netns path for one inside the pod.</summary>
public sealed record CniResultInterface(string Name, string? Mac, string? Sandbox);
