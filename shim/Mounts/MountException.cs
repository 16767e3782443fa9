namespace Containerd.Shim.Mounts;

/// <summary>A rootfs mount could not be made; the message names the mount and the kernel's reason.</summary>
internal sealed class MountException(string message) : Exception(message);
