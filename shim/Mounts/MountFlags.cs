namespace Containerd.Shim.Mounts;

/// <summary>mount(2) flags (linux/mount.h).</summary>
[Flags]
internal enum MountFlags : ulong
{
    None = 0,
    ReadOnly = 1,
    NoSuid = 2,
    NoDev = 4,
    NoExec = 8,
    Synchronous = 16,
    Remount = 32,
    MandLock = 64,
    DirSync = 128,
    NoAtime = 1024,
    NoDirAtime = 2048,
    Bind = 4096,
    Recursive = 16384,
    Silent = 32768,
    Unbindable = 1 << 17,
    Private = 1 << 18,
    Slave = 1 << 19,
    Shared = 1 << 20,
    RelAtime = 1 << 21,
    StrictAtime = 1 << 24,

    Propagation = Unbindable | Private | Slave | Shared,
}
