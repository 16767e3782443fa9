using Containerd.Shared.Native;

namespace Containerd.Shim.Logging;

/// <summary>BUNDLE/shim.log, opened once per shim (or delete command) and shared by every logger.</summary>
internal static class LogFile
{
    /// <summary>
    /// Past this size the log is rotated (shim.log → shim.log.1, one generation
    /// kept), so a shim at debug level never fills the state directory: a
    /// task's log takes at most about twice this. The daemon forwards every
    /// line into its own log as it is written, so nothing is lost to rotation.
    /// </summary>
    public const long MaxBytes = 1024 * 1024;

    private const int OwnerOnlyFile = 0x180; // 0600

    /// <summary>The one older generation kept when <paramref name="path"/> is rotated.</summary>
    public static string RotatedPath(string path) => path + ".1";

    /// <summary>An O_APPEND fd, so lines written by several threads (and stderr dup'ed onto it) never interleave.</summary>
    /// <exception cref="IOException">The log cannot be opened.</exception>
    public static int Open(string path)
    {
        var fd = Libc.Open(path, Libc.O_WRONLY | Libc.O_APPEND | Libc.O_CREAT | Libc.O_CLOEXEC, OwnerOnlyFile);
        return fd >= 0 ? fd : throw new IOException($"cannot open log {path}: {Libc.ErrorText(Libc.LastError)}");
    }
}
