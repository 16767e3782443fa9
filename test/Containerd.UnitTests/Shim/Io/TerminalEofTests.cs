using Containerd.Shim.Io;

namespace Containerd.UnitTests.Shim.Io;

public sealed class TerminalEofTests
{
    [TestCase(-1, 1, TestName = "Nothing forwarded: one VEOF")]
    [TestCase('\n', 1, TestName = "After a newline: one VEOF")]
    [TestCase('\r', 1, TestName = "After a carriage return: one VEOF")]
    [TestCase('x', 2, TestName = "After a partial line: two VEOFs (the first only hands over the line)")]
    public void The_number_of_VEOFs_depends_on_the_last_byte(int last, int count)
    {
        Assert.That(TerminalEof.Sequence(0x04, last), Is.EqualTo(Enumerable.Repeat((byte)0x04, count).ToArray()));
    }

    [Test]
    public void The_terminals_own_VEOF_is_used()
    {
        Assert.That(TerminalEof.Sequence(0x1a, 'x'), Is.EqualTo(new byte[] { 0x1a, 0x1a }));
    }

    [Test]
    public void A_fd_that_is_no_terminal_gets_the_default()
    {
        Assert.That(TerminalEof.ReadVeof(-1), Is.EqualTo(TerminalEof.DefaultVeof));
    }
}
