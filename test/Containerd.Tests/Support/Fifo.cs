using System.Text;
using Containerd.Shared.Native;
using Microsoft.Win32.SafeHandles;

namespace Containerd.Tests.Support;

/// <summary>Client-side FIFOs for a task's stdio, made in the test's own directory, as ctr makes them.</summary>
public sealed class Fifo : IDisposable
{
    private readonly string _dir;

    public Fifo(string name)
    {
        _dir = Path.Combine("/tmp", "ctdf-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(_dir);
        Path_ = Path.Combine(_dir, name);
        if (Libc.MkFifo(Path_, Convert.ToInt32("600", 8)) != 0)
            throw new IOException($"mkfifo {Path_}: {Libc.ErrorText(Libc.LastError)}");
    }

    public string Path_ { get; }

    public override string ToString() => Path_;

    /// <summary>
    /// Starts reading until every writer closed (EOF). Call it before the task or exec is created: the
    /// open blocks until the shim opens its side, and data written before any reader opened would be lost
    /// once the shim closes. <see cref="Dispose"/> unblocks an open that no writer ever answered.
    /// </summary>
    public Task<string> StartReading() => Task.Factory.StartNew(() =>
    {
        var fd = Libc.Open(Path_, Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
        if (fd < 0)
            throw new IOException($"open {Path_}: {Libc.ErrorText(Libc.LastError)}");
        using var handle = new SafeFileHandle(fd, ownsHandle: true);
        var text = new MemoryStream();
        var buffer = new byte[4096];
        while (true)
        {
            int n;
            unsafe
            {
                fixed (byte* p = buffer)
                    n = (int)Libc.Read(fd, p, buffer.Length);
            }
            if (n > 0)
                text.Write(buffer, 0, n);
            else if (n == 0 || Libc.LastError != Libc.EINTR)
                break;
        }
        return Encoding.UTF8.GetString(text.ToArray());
    }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary>Writes to the FIFO (for stdin): the open waits for the shim, which holds the read side.</summary>
    public async Task WriteAsync(string text)
    {
        await using var stream = new FileStream(Path_, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1, FileOptions.None);
        var bytes = Encoding.UTF8.GetBytes(text);
        await stream.WriteAsync(bytes);
    }

    public void Dispose()
    {
        // A reader still blocked in open() is released by a writer that comes and goes.
        var fd = Libc.Open(Path_, Libc.O_WRONLY | Libc.O_NONBLOCK | Libc.O_CLOEXEC, 0);
        if (fd >= 0)
            Libc.Close(fd);
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
