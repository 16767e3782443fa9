using Containerd.Shared.Native;

namespace Containerd.Shim.Io;

/// <summary>poll() on one data fd plus cancel signals.</summary>
internal static unsafe class FdWait
{
    public enum Result
    {
        /// <summary>The data fd is ready (or hung up / in error: the next read or write tells which).</summary>
        Ready,
        Cancelled,
        TimedOut,
    }

    public static Result Wait(int fd, short events, int cancelFd, int secondCancelFd = -1, int timeoutMs = -1)
    {
        var fds = stackalloc Libc.PollFd[3];
        fds[0] = new Libc.PollFd { Fd = fd, Events = events };
        fds[1] = new Libc.PollFd { Fd = cancelFd, Events = Libc.POLLIN };
        fds[2] = new Libc.PollFd { Fd = secondCancelFd, Events = Libc.POLLIN };
        var count = secondCancelFd >= 0 ? 3u : 2u;
        while (true)
        {
            var n = Libc.Poll(fds, count, timeoutMs);
            if (n < 0)
            {
                if (Libc.LastError == Libc.EINTR)
                    continue;
                return Result.Cancelled;
            }
            if (n == 0)
                return Result.TimedOut;
            if (fds[1].Revents != 0 || (count == 3 && fds[2].Revents != 0))
                return Result.Cancelled;
            return Result.Ready;
        }
    }
}
