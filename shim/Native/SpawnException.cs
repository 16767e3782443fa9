using Containerd.Shared.Native;

namespace Containerd.Shim.Native;

/// <summary>posix_spawnp (or one of its setup calls) failed with <see cref="Errno"/>.</summary>
internal sealed class SpawnException(string what, int errno)
    : Exception($"cannot run {what}: {Libc.ErrorText(errno)}")
{
    public int Errno { get; } = errno;
}
