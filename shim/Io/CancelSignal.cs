using Containerd.Shared.Native;
using Containerd.Shim.Native;

namespace Containerd.Shim.Io;

/// <summary>
/// An eventfd that copy threads poll next to their data fd: closing an fd
/// does not wake a thread blocked on it, but a readable eventfd does.
/// Once signalled it stays readable, so every waiter sees it.
/// </summary>
internal sealed unsafe class CancelSignal : IDisposable
{
    private int _fd;
    private int _signalled;

    public CancelSignal()
    {
        _fd = Posix.EventFd(0, Posix.EFD_CLOEXEC | Posix.EFD_NONBLOCK);
        if (_fd < 0)
            throw new IOException($"eventfd: {Libc.ErrorText(Libc.LastError)}");
    }

    public int Fd => _fd;

    public bool IsSignalled => Volatile.Read(ref _signalled) != 0;

    public void Signal()
    {
        if (Interlocked.Exchange(ref _signalled, 1) != 0)
            return;
        ulong one = 1;
        Libc.Write(_fd, (byte*)&one, sizeof(ulong));
    }

    /// <summary>Only after every thread polling it has stopped.</summary>
    public void Dispose() => Posix.CloseQuietly(ref _fd);
}
