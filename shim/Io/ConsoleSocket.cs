using Containerd.Shared.Bundles;
using Containerd.Shared.Native;
using Containerd.Shim.Native;

namespace Containerd.Shim.Io;

/// <summary>
/// The unix socket a terminal process's runc call is given as
/// <c>--console-socket</c>: runc connects to it and sends the pty master as
/// an SCM_RIGHTS fd (with the slave's name as data), then closes. The
/// connection and the fd wait in the socket's queue until they are taken, so
/// the shim receives the master after runc returned: runc never waits for the
/// shim, and a runc that failed (or exited without connecting) leaves nothing
/// to wait for. The socket file is removed by <see cref="Dispose"/>, which
/// every path reaches.
/// </summary>
internal sealed unsafe class ConsoleSocket : IDisposable
{
    // runc has returned when the master is taken: it is already queued. The
    // bound only guards against a runc that connected but never sent.
    private const int ReceiveTimeoutMs = 10_000;

    private readonly string? _privateDirectory;
    private int _fd;

    private ConsoleSocket(int fd, string path, string? privateDirectory)
    {
        _fd = fd;
        Path = path;
        _privateDirectory = privateDirectory;
    }

    /// <summary>The path runc is given.</summary>
    public string Path { get; }

    /// <summary>
    /// Listens on <paramref name="path"/>; when that is too long for a unix
    /// socket address (deep bundle directories), in a private (0700) temporary
    /// directory instead.
    /// </summary>
    /// <exception cref="IOException">socket, bind or listen failed; the message says which.</exception>
    public static ConsoleSocket Listen(string path)
    {
        string? privateDirectory = null;
        if (!TaskBundle.FitsSocketPath(path))
        {
            privateDirectory = Directory.CreateTempSubdirectory("ctd-console-").FullName;
            path = System.IO.Path.Combine(privateDirectory, TaskBundle.ShortConsoleSocketName);
        }
        var fd = -1;
        try
        {
            // A stale file of a previous shim's (it was killed mid-call) would make bind fail.
            File.Delete(path);
            fd = Posix.Socket(Posix.AF_UNIX, Posix.SOCK_STREAM | Posix.SOCK_CLOEXEC | Posix.SOCK_NONBLOCK, 0);
            if (fd < 0)
                throw new IOException($"console socket: socket: {Libc.ErrorText(Libc.LastError)}");
            if (!Posix.TryUnixAddress(path, out var address, out var length))
                throw new IOException($"console socket path {path} is too long");
            if (Posix.Bind(fd, &address, length) != 0)
                throw new IOException($"console socket: bind {path}: {Libc.ErrorText(Libc.LastError)}");
            if (Posix.Listen(fd, 1) != 0)
                throw new IOException($"console socket: listen {path}: {Libc.ErrorText(Libc.LastError)}");
            return new ConsoleSocket(fd, path, privateDirectory);
        }
        catch
        {
            Posix.CloseQuietly(ref fd);
            Remove(path, privateDirectory);
            throw;
        }
    }

    /// <summary>
    /// Takes the pty master runc sent (after runc returned successfully). The
    /// fd is O_CLOEXEC and O_NONBLOCK; the caller owns it.
    /// </summary>
    /// <exception cref="IOException">runc did not connect, or sent no fd.</exception>
    public int ReceiveMaster() => ReceiveMaster(ReceiveTimeoutMs);

    /// <inheritdoc cref="ReceiveMaster()"/>
    internal int ReceiveMaster(int timeoutMs)
    {
        if (FdWait.Wait(_fd, Libc.POLLIN, -1, -1, timeoutMs) != FdWait.Result.Ready)
            throw new IOException("the runtime did not connect to the console socket");
        var connection = Posix.Accept4(_fd, null, null, Posix.SOCK_CLOEXEC | Posix.SOCK_NONBLOCK);
        if (connection < 0)
            throw new IOException($"console socket: accept: {Libc.ErrorText(Libc.LastError)}");
        try
        {
            if (FdWait.Wait(connection, Libc.POLLIN, -1, -1, timeoutMs) != FdWait.Result.Ready)
                throw new IOException("the runtime sent no terminal over the console socket");
            var master = ReceiveFd(connection);
            SetNonBlocking(master);
            return master;
        }
        finally
        {
            Libc.Close(connection);
        }
    }

    /// <summary>
    /// One recvmsg on <paramref name="socket"/>: the first fd of its SCM_RIGHTS
    /// (O_CLOEXEC from the moment it exists); any further fd is closed.
    /// </summary>
    /// <exception cref="IOException">No fd came (EOF, an error, or a truncated control message).</exception>
    internal static int ReceiveFd(int socket)
    {
        const int MaxFds = 4;
        var data = stackalloc byte[4096];
        var controlLength = sizeof(Posix.CmsgHdr) + MaxFds * sizeof(int);
        var control = stackalloc byte[controlLength];
        var iov = new Posix.IoVec { Base = data, Length = 4096 };
        var message = new Posix.MsgHdr { Iov = &iov, IovLength = 1, Control = control, ControlLength = (nuint)controlLength };
        nint n;
        do
            n = Posix.RecvMsg(socket, &message, Posix.MSG_CMSG_CLOEXEC);
        while (n < 0 && Libc.LastError == Libc.EINTR);
        if (n < 0)
            throw new IOException($"console socket: recvmsg: {Libc.ErrorText(Libc.LastError)}");

        var master = -1;
        var offset = 0;
        // Walk the control messages (CMSG_FIRSTHDR/CMSG_NXTHDR), keeping the first fd.
        while (offset + sizeof(Posix.CmsgHdr) <= (int)message.ControlLength)
        {
            var header = (Posix.CmsgHdr*)(control + offset);
            var length = (int)header->Length;
            if (length < sizeof(Posix.CmsgHdr))
                break;
            if (header->Level == Posix.SOL_SOCKET && header->Type == Posix.SCM_RIGHTS)
            {
                var fds = (int*)(header + 1);
                var count = (length - sizeof(Posix.CmsgHdr)) / sizeof(int);
                for (var i = 0; i < count; i++)
                {
                    if (master < 0)
                        master = fds[i];
                    else
                        Libc.Close(fds[i]);
                }
            }
            offset += (length + 7) & ~7;
        }
        if (master < 0)
        {
            var truncated = (message.Flags & Posix.MSG_CTRUNC) != 0 ? " (control data truncated)" : "";
            throw new IOException(n == 0
                ? "the runtime closed the console socket without sending a terminal"
                : $"the runtime sent no terminal over the console socket{truncated}");
        }
        return master;
    }

    public void Dispose()
    {
        if (_fd < 0)
            return;
        Posix.CloseQuietly(ref _fd);
        Remove(Path, _privateDirectory);
    }

    private static void SetNonBlocking(int fd)
    {
        var flags = Libc.Fcntl(fd, Libc.F_GETFL, 0);
        if (flags < 0 || Libc.Fcntl(fd, Libc.F_SETFL, flags | Libc.O_NONBLOCK) < 0)
        {
            var error = Libc.ErrorText(Libc.LastError);
            Libc.Close(fd);
            throw new IOException($"pty master: fcntl O_NONBLOCK: {error}");
        }
    }

    private static void Remove(string path, string? privateDirectory)
    {
        try
        {
            File.Delete(path);
            if (privateDirectory is not null)
                Directory.Delete(privateDirectory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Nothing else can be done; the next Listen of the same name deletes it first.
        }
    }
}
