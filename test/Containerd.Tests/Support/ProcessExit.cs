using System.Runtime.InteropServices;
using Containerd.Shared.Native;

namespace Containerd.Tests.Support;

/// <summary>
/// Awaits the exit of any process, the test host's child or not (shims, container processes),
/// through a pidfd: the kernel makes it readable the moment the process exits, so nothing polls /proc.
/// </summary>
public static partial class ProcessExit
{
    /// <summary>
    /// Completes true once <paramref name="pid"/> has exited (a zombie counts as exited, as
    /// <see cref="Probe.IsAlive"/> has it), false when <paramref name="timeout"/> passed first.
    /// </summary>
    public static Task<bool> WaitAsync(int pid, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        WaitForAsync(pid, Libc.POLLIN, timeout, cancellationToken);

    /// <summary>
    /// Completes true once <paramref name="pid"/> no longer exists at all: exited and reaped by
    /// its parent, which is when the kernel reports POLLHUP on its pidfd; false on timeout.
    /// </summary>
    public static Task<bool> WaitGoneAsync(int pid, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        WaitForAsync(pid, Libc.POLLHUP, timeout, cancellationToken);

    private static async Task<bool> WaitForAsync(int pid, short condition, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var pidfd = PidfdOpen(pid, 0);
        if (pidfd < 0)
        {
            var errno = Libc.LastError;
            if (errno == Libc.ESRCH)
                return true; // already exited and reaped
            throw new IOException($"pidfd_open {pid}: {Libc.ErrorText(errno)}");
        }

        // A pipe whose write end a cancellation closes wakes the blocked poll, so a cancelled
        // wait neither polls in slices nor keeps a thread blocked until its timeout.
        var (wakeRead, wakeWrite) = NewPipe();
        try
        {
            await using var registration = cancellationToken.Register(() => Libc.Close(Interlocked.Exchange(ref wakeWrite, -1)));
            var done = await Task.Factory.StartNew(
                () => Poll(pidfd, condition, wakeRead, timeout), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            cancellationToken.ThrowIfCancellationRequested();
            return done;
        }
        finally
        {
            Libc.Close(pidfd);
            Libc.Close(wakeRead);
            var write = Interlocked.Exchange(ref wakeWrite, -1);
            if (write >= 0)
                Libc.Close(write);
        }
    }

    /// <summary>Waits for every pid with one shared bound; returns those still running when it passed.</summary>
    public static async Task<IReadOnlyList<int>> WaitAllAsync(IEnumerable<int> pids, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var waits = pids.Distinct().Select(async pid => (pid, exited: await WaitAsync(pid, timeout, cancellationToken))).ToList();
        return (await Task.WhenAll(waits)).Where(w => !w.exited).Select(w => w.pid).ToList();
    }

    private static unsafe bool Poll(int pidfd, short condition, int wakeRead, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        var fds = stackalloc Libc.PollFd[2];
        while (true)
        {
            // POLLHUP is reported whether asked for or not; asking for POLLIN only when it is the
            // condition keeps a zombie (readable at once) from waking a wait for its reaping.
            fds[0] = new Libc.PollFd { Fd = pidfd, Events = condition == Libc.POLLIN ? Libc.POLLIN : (short)0 };
            fds[1] = new Libc.PollFd { Fd = wakeRead, Events = Libc.POLLIN };
            var left = (int)Math.Max(0, Math.Ceiling((deadline - DateTime.UtcNow).TotalMilliseconds));
            var n = Libc.Poll(fds, 2, left);
            if (n < 0)
            {
                var errno = Libc.LastError;
                if (errno == Libc.EINTR)
                    continue;
                throw new IOException($"poll on a pidfd: {Libc.ErrorText(errno)}");
            }
            if ((fds[0].Revents & condition) != 0)
                return true;
            // Woken by a cancellation (its pipe closed) or out of time.
            return false;
        }
    }

    private static unsafe (int Read, int Write) NewPipe()
    {
        var fds = stackalloc int[2];
        if (Libc.Pipe2(fds, Libc.O_CLOEXEC) != 0)
            throw new IOException($"pipe2: {Libc.ErrorText(Libc.LastError)}");
        return (fds[0], fds[1]);
    }

    // glibc 2.36 has the wrapper; syscall 434 on every architecture.
    [LibraryImport("libc", EntryPoint = "pidfd_open", SetLastError = true)]
    private static partial int PidfdOpen(int pid, uint flags);
}
