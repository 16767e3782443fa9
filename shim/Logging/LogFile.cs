using Containerd.Shared.Native;

namespace Containerd.Shim.Logging;

/// <summary>BUNDLE/shim.log, opened once per shim (or delete command) and shared by every logger.</summary>
internal static class LogFile
{
    private const int OwnerOnlyFile = 0x180; // 0600

    /// <summary>An O_APPEND fd, so lines written by several threads (and stderr dup'ed onto it) never interleave.</summary>
    /// <exception cref="IOException">The log cannot be opened.</exception>
    public static int Open(string path)
    {
        var fd = Libc.Open(path, Libc.O_WRONLY | Libc.O_APPEND | Libc.O_CREAT | Libc.O_CLOEXEC, OwnerOnlyFile);
        return fd >= 0 ? fd : throw new IOException($"cannot open log {path}: {Libc.ErrorText(Libc.LastError)}");
    }
}
