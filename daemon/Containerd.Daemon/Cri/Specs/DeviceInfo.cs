namespace Containerd.Daemon.Cri.Specs;

/// <summary>
/// What a host device node is (the caller stats it: <c>stat(2)</c> after
/// following symlinks). <see cref="Type"/> is <c>'c'</c> or <c>'b'</c>;
/// <see cref="FileMode"/> the permission bits (e.g. 0o666).
/// </summary>
public sealed record DeviceInfo(char Type, long Major, long Minor, uint FileMode, uint Uid, uint Gid);
