using Containerd.Shared.Native;
using Containerd.Shim.Native;

namespace Containerd.UnitTests.Shim.Io;

/// <summary>The runc side of a console socket, for tests: connect, send one fd, close.</summary>
internal static unsafe class FdSender
{
    /// <summary>What runc's utils.SendFile does: the name as data, the fd as SCM_RIGHTS (none when <paramref name="fd"/> is -1).</summary>
    public static void Send(string path, int fd, string name)
    {
        var socket = Posix.Socket(Posix.AF_UNIX, Posix.SOCK_STREAM | Posix.SOCK_CLOEXEC, 0);
        Assert.That(socket, Is.GreaterThanOrEqualTo(0));
        try
        {
            Assert.That(Posix.TryUnixAddress(path, out var address, out var length), Is.True);
            Assert.That(Posix.Connect(socket, &address, length), Is.Zero, Libc.ErrorText(Libc.LastError));
            var data = System.Text.Encoding.UTF8.GetBytes(name);
            var controlLength = sizeof(Posix.CmsgHdr) + 8;
            var control = stackalloc byte[controlLength];
            new Span<byte>(control, controlLength).Clear();
            fixed (byte* bytes = data)
            {
                var iov = new Posix.IoVec { Base = bytes, Length = (nuint)data.Length };
                var message = new Posix.MsgHdr { Iov = &iov, IovLength = 1 };
                if (fd >= 0)
                {
                    var header = (Posix.CmsgHdr*)control;
                    header->Length = (nuint)(sizeof(Posix.CmsgHdr) + sizeof(int));
                    header->Level = Posix.SOL_SOCKET;
                    header->Type = Posix.SCM_RIGHTS;
                    *(int*)(header + 1) = fd;
                    message.Control = control;
                    message.ControlLength = (nuint)controlLength;
                }
                Assert.That(Posix.SendMsg(socket, &message, 0), Is.EqualTo((nint)data.Length), Libc.ErrorText(Libc.LastError));
            }
        }
        finally
        {
            Libc.Close(socket);
        }
    }
}
