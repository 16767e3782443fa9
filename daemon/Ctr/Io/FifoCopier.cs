using Containerd.Shared.Native;

namespace Containerd.Ctr.Io;

/// <summary>Blocking copy loops between FIFO file descriptors and ctr's standard streams, each run on its own thread.</summary>
internal static unsafe class FifoCopier
{
    private const int BufferSize = 64 * 1024;
    private const int PollIntervalMs = 100;

    /// <summary>
    /// Copies a FIFO's read end to <paramref name="destination"/> until every writer has closed it.
    /// poll() comes first because a read on a FIFO no writer has opened yet
    /// returns EOF at once, whereas poll reports the hang-up only after a writer came and went.
    /// </summary>
    public static void CopyOut(int fd, Stream destination, CancellationToken stop, Action? onData = null)
    {
        var buffer = new byte[BufferSize];
        var destinationBroken = false;
        while (!stop.IsCancellationRequested)
        {
            var pollFd = new Libc.PollFd { Fd = fd, Events = Libc.POLLIN };
            var ready = Libc.Poll(&pollFd, 1, PollIntervalMs);
            if (ready < 0)
            {
                if (Libc.LastError == Libc.EINTR)
                    continue;
                return;
            }
            if (ready == 0)
                continue;

            nint count;
            fixed (byte* p = buffer)
                count = Libc.Read(fd, p, buffer.Length);
            if (count < 0)
            {
                var errno = Libc.LastError;
                if (errno == Libc.EINTR || errno == Libc.EAGAIN)
                    continue;
                return;
            }
            if (count == 0)
                return;
            onData?.Invoke();
            if (destinationBroken)
                continue;
            try
            {
                destination.Write(buffer, 0, (int)count);
                destination.Flush();
            }
            catch (IOException)
            {
                // Whoever reads ctr's output went away (e.g. `| head`); keep
                // draining so the container never blocks on a full FIFO.
                destinationBroken = true;
            }
        }
    }

    /// <summary>
    /// Copies ctr's own stdin (fd <paramref name="sourceFd"/>, read directly:
    /// System.Console would reconfigure a terminal behind ctr's back) into a
    /// FIFO until the input ends, <paramref name="scanner"/> (if any) sees the
    /// detach keys, the FIFO's reader is gone, or <paramref name="stop"/> is cancelled.
    /// </summary>
    public static InputEnd CopyInDirect(int sourceFd, int fd, DetachKeyScanner? scanner, CancellationToken stop)
    {
        var buffer = new byte[BufferSize];
        var forward = new byte[DetachKeyScanner.MaxOutput(BufferSize)];
        while (true)
        {
            if (stop.IsCancellationRequested)
                return InputEnd.Stopped;
            var pollFd = new Libc.PollFd { Fd = sourceFd, Events = Libc.POLLIN };
            var ready = Libc.Poll(&pollFd, 1, PollIntervalMs);
            if (ready < 0)
            {
                if (Libc.LastError == Libc.EINTR)
                    continue;
                return InputEnd.EndOfInput;
            }
            if (ready == 0)
                continue;
            if ((pollFd.Revents & Libc.POLLNVAL) != 0)
                return InputEnd.EndOfInput;

            nint count;
            fixed (byte* p = buffer)
                count = Libc.Read(sourceFd, p, buffer.Length);
            if (count < 0)
            {
                var errno = Libc.LastError;
                if (errno == Libc.EINTR || errno == Libc.EAGAIN)
                    continue;
                // EIO: the terminal hung up; EBADF: there is no stdin at all. Either way the input is over.
                count = 0;
            }
            if (count == 0)
            {
                var held = scanner?.Flush(forward) ?? 0;
                if (held > 0)
                    WriteAll(fd, forward, held);
                return InputEnd.EndOfInput;
            }

            if (scanner is null)
            {
                if (!WriteAll(fd, buffer, (int)count))
                    return InputEnd.ReaderGone;
                continue;
            }
            var length = scanner.Scan(buffer.AsSpan(0, (int)count), forward);
            if (length > 0 && !WriteAll(fd, forward, length))
                return InputEnd.ReaderGone;
            if (scanner.Detached)
                return InputEnd.Detached;
        }
    }

    /// <summary>Copies <paramref name="source"/> into a FIFO until the source ends; returns when it has.</summary>
    public static void CopyIn(Stream source, int fd)
    {
        var buffer = new byte[BufferSize];
        while (true)
        {
            int count;
            try
            {
                count = source.Read(buffer, 0, buffer.Length);
            }
            catch (IOException)
            {
                return;
            }
            if (count <= 0 || !WriteAll(fd, buffer, count))
                return;
        }
    }

    private static bool WriteAll(int fd, byte[] buffer, int count)
    {
        var offset = 0;
        fixed (byte* p = buffer)
        {
            while (offset < count)
            {
                var written = Libc.Write(fd, p + offset, count - offset);
                if (written < 0)
                {
                    if (Libc.LastError == Libc.EINTR)
                        continue;
                    return false;
                }
                offset += (int)written;
            }
        }
        return true;
    }
}
