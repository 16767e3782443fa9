using System.Runtime.InteropServices;
using Containerd.Daemon.Cri.Specs;

namespace Containerd.Daemon.Cri.Containers;

/// <summary>What a host device node is, for a container that asks for it (symlinks followed, as containerd does).</summary>
public static partial class HostDevices
{
    private const uint S_IFMT = 0xF000, S_IFCHR = 0x2000, S_IFBLK = 0x6000;

    [LibraryImport("libc", EntryPoint = "stat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Stat(string path, byte* buffer);

    /// <exception cref="FileNotFoundException">The path is absent or not a device node.</exception>
    public static unsafe DeviceInfo Lookup(string path)
    {
        // struct stat: st_mode, st_uid, st_gid and st_rdev sit at 24/28/32/40 on x86_64 and 16/24/28/32 on arm64.
        var (mode, uid, gid, rdev) = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => (24, 28, 32, 40),
            Architecture.Arm64 => (16, 24, 28, 32),
            _ => throw new PlatformNotSupportedException($"struct stat layout unknown for {RuntimeInformation.ProcessArchitecture}"),
        };
        var buffer = stackalloc byte[256];
        if (Stat(path, buffer) != 0)
            throw new FileNotFoundException($"device \"{path}\" does not exist on the host");
        var fileMode = *(uint*)(buffer + mode);
        var type = (fileMode & S_IFMT) switch
        {
            S_IFCHR => 'c',
            S_IFBLK => 'b',
            _ => throw new FileNotFoundException($"\"{path}\" on the host is not a device node"),
        };
        var device = *(ulong*)(buffer + rdev);
        // glibc's major()/minor() encoding.
        var major = (long)(((device >> 8) & 0xfff) | ((device >> 32) & ~0xfffUL));
        var minor = (long)((device & 0xff) | ((device >> 12) & ~0xffUL));
        return new DeviceInfo(type, major, minor, fileMode & 0x1FF, *(uint*)(buffer + uid), *(uint*)(buffer + gid));
    }
}
