using Containerd.Shared.Bundles;
using Containerd.Shared.Native;
using Containerd.Shim.Io;
using Containerd.Shim.Native;

namespace Containerd.UnitTests.Shim.Io;

/// <summary>
/// The console socket against a sender written here that does what runc
/// does: connect, send one fd (with the slave's name as data) over
/// SCM_RIGHTS, close — before the shim accepts.
/// </summary>
public sealed unsafe class ConsoleSocketTests
{
    private const int FD_CLOEXEC = 1;
    private const int F_GETFD = 1;

    private string _dir = "";

    [SetUp]
    public void MakeDirectory() => _dir = Directory.CreateTempSubdirectory("ctd-console-test-").FullName;

    [TearDown]
    public void RemoveDirectory() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void A_sent_fd_is_received_nonblocking_and_cloexec_after_the_sender_left()
    {
        var path = Path.Combine(_dir, "console.1.sock");
        var (read, write) = Pipe();
        try
        {
            using (var socket = ConsoleSocket.Listen(path))
            {
                Assert.That(socket.Path, Is.EqualTo(path));
                FdSender.Send(path, read, "/dev/pts/7");
                var master = socket.ReceiveMaster(5000);
                try
                {
                    Assert.That(master, Is.Not.EqualTo(read));
                    Assert.That(Libc.Fcntl(master, Libc.F_GETFL, 0) & Libc.O_NONBLOCK, Is.Not.Zero, "O_NONBLOCK");
                    Assert.That(Libc.Fcntl(master, F_GETFD, 0) & FD_CLOEXEC, Is.Not.Zero, "FD_CLOEXEC");
                    // It is the same pipe: what goes in one end comes out of the received fd.
                    var bytes = stackalloc byte[3] { (byte)'a', (byte)'b', (byte)'c' };
                    Assert.That(Libc.Write(write, bytes, 3), Is.EqualTo((nint)3));
                    var buffer = stackalloc byte[8];
                    Assert.That(Libc.Read(master, buffer, 8), Is.EqualTo((nint)3));
                    Assert.That(buffer[2], Is.EqualTo((byte)'c'));
                }
                finally
                {
                    Libc.Close(master);
                }
            }
            Assert.That(File.Exists(path), Is.False, "the socket file is removed");
        }
        finally
        {
            Libc.Close(read);
            Libc.Close(write);
        }
    }

    [Test]
    public void A_sender_that_never_connects_is_an_error_and_the_file_still_goes()
    {
        var path = Path.Combine(_dir, "console.2.sock");
        using (var socket = ConsoleSocket.Listen(path))
        {
            var error = Assert.Throws<IOException>(() => socket.ReceiveMaster(50));
            Assert.That(error!.Message, Does.Contain("did not connect"));
        }
        Assert.That(File.Exists(path), Is.False);
    }

    [Test]
    public void A_sender_that_sends_no_fd_is_an_error()
    {
        var path = Path.Combine(_dir, "console.3.sock");
        using var socket = ConsoleSocket.Listen(path);
        FdSender.Send(path, -1, "no fd here");
        var error = Assert.Throws<IOException>(() => socket.ReceiveMaster(5000));
        Assert.That(error!.Message, Does.Contain("no terminal"));
    }

    [Test]
    public void A_path_too_long_for_a_socket_address_falls_back_to_a_private_directory()
    {
        var deep = Path.Combine(_dir, new string('d', 120));
        var path = Path.Combine(deep, "console.4.sock");
        Assert.That(TaskBundle.FitsSocketPath(path), Is.False);
        string used;
        using (var socket = ConsoleSocket.Listen(path))
        {
            used = socket.Path;
            Assert.That(TaskBundle.FitsSocketPath(used), Is.True);
            Assert.That(Path.GetFileName(used), Is.EqualTo(TaskBundle.ShortConsoleSocketName));
            var (read, write) = Pipe();
            FdSender.Send(used, read, "/dev/pts/1");
            Libc.Close(read);
            Libc.Close(write);
            Libc.Close(socket.ReceiveMaster(5000));
        }
        Assert.That(Directory.Exists(Path.GetDirectoryName(used)), Is.False, "the private directory is removed too");
    }

    private static (int Read, int Write) Pipe()
    {
        var fds = stackalloc int[2];
        Assert.That(Libc.Pipe2(fds, Libc.O_CLOEXEC), Is.Zero);
        return (fds[0], fds[1]);
    }
}
