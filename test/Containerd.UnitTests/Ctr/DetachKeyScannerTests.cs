using Containerd.Ctr.Io;

namespace Containerd.UnitTests.Ctr;

/// <summary>Ctrl-P Ctrl-Q detaches; every other byte, a lone Ctrl-P included, reaches the process unchanged and in order.</summary>
public sealed class DetachKeyScannerTests
{
    private const byte P = DetachKeyScanner.CtrlP;
    private const byte Q = DetachKeyScanner.CtrlQ;

    /// <summary>Feeds the reads one by one, as the stdin copy loop does, then flushes as at EOF if still attached.</summary>
    private static (byte[] Forwarded, bool Detached) Feed(params byte[][] reads)
    {
        var scanner = new DetachKeyScanner();
        var forwarded = new List<byte>();
        foreach (var read in reads)
        {
            var output = new byte[DetachKeyScanner.MaxOutput(read.Length)];
            var count = scanner.Scan(read, output);
            forwarded.AddRange(output.AsSpan(0, count).ToArray());
            if (scanner.Detached)
                return ([.. forwarded], true);
        }
        var tail = new byte[1];
        forwarded.AddRange(tail.AsSpan(0, scanner.Flush(tail)).ToArray());
        return ([.. forwarded], false);
    }

    [Test]
    public void Plain_input_passes_through() =>
        Assert.That(Feed("ls -l\r"u8.ToArray()), Is.EqualTo(("ls -l\r"u8.ToArray(), false)));

    [Test]
    public void The_sequence_detaches_and_what_came_before_it_is_forwarded() =>
        Assert.That(Feed([(byte)'a', (byte)'b', P, Q]), Is.EqualTo((new byte[] { (byte)'a', (byte)'b' }, true)));

    [Test]
    public void Bytes_after_the_sequence_are_dropped() =>
        Assert.That(Feed([P, Q, (byte)'x', (byte)'y']), Is.EqualTo((Array.Empty<byte>(), true)));

    [Test]
    public void The_sequence_split_across_reads_detaches() =>
        Assert.That(Feed([(byte)'a', P], [Q]), Is.EqualTo((new byte[] { (byte)'a' }, true)));

    [Test]
    public void A_held_ctrl_p_is_forwarded_when_the_next_read_does_not_continue_the_sequence() =>
        Assert.That(Feed([(byte)'a', P], [(byte)'x']), Is.EqualTo((new byte[] { (byte)'a', P, (byte)'x' }, false)));

    [Test]
    public void Ctrl_p_then_another_byte_is_forwarded_unchanged() =>
        Assert.That(Feed([P, (byte)'x', (byte)'y']), Is.EqualTo((new byte[] { P, (byte)'x', (byte)'y' }, false)));

    [Test]
    public void Ctrl_q_alone_is_forwarded() =>
        Assert.That(Feed([Q, (byte)'a', Q]), Is.EqualTo((new byte[] { Q, (byte)'a', Q }, false)));

    [Test]
    public void Ctrl_p_ctrl_p_forwards_one_and_holds_the_other()
    {
        Assert.Multiple(() =>
        {
            // The second Ctrl-P may still start the sequence...
            Assert.That(Feed([P, P, Q]), Is.EqualTo((new byte[] { P }, true)));
            // ...and when it does not, both reach the process.
            Assert.That(Feed([P, P, (byte)'x']), Is.EqualTo((new byte[] { P, P, (byte)'x' }, false)));
            Assert.That(Feed([P], [P], [P], [(byte)'x']), Is.EqualTo((new byte[] { P, P, P, (byte)'x' }, false)));
        });
    }

    [Test]
    public void A_ctrl_p_held_at_the_end_of_input_is_flushed() =>
        Assert.That(Feed([(byte)'a', P]), Is.EqualTo((new byte[] { (byte)'a', P }, false)));

    [Test]
    public void Empty_reads_change_nothing() =>
        Assert.That(Feed([P], [], [Q]), Is.EqualTo((Array.Empty<byte>(), true)));

    [Test]
    public void After_detaching_nothing_more_is_forwarded()
    {
        var scanner = new DetachKeyScanner();
        var output = new byte[8];
        scanner.Scan([P, Q], output);
        Assert.Multiple(() =>
        {
            Assert.That(scanner.Detached);
            Assert.That(scanner.Scan([(byte)'a', P], output), Is.EqualTo(0));
            Assert.That(scanner.Flush(output), Is.EqualTo(0));
        });
    }

    [Test]
    public void A_too_small_output_buffer_is_refused() =>
        Assert.Throws<ArgumentException>(() => new DetachKeyScanner().Scan([1, 2], new byte[2]));
}
