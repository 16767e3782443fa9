using Containerd.Api.Images;
using Containerd.Ctr.Commands;

namespace Containerd.UnitTests.Ctr;

/// <summary>ctr images pull's progress: rewritten in place on a terminal, one plain line per finished blob otherwise.</summary>
public sealed class PullProgressDisplayTests
{
    private static BlobProgress Blob(char c, string phase, long done, long total = 2000) => new()
    {
        Digest = "sha256:" + new string(c, 64),
        MediaType = "application/vnd.oci.image.layer.v1.tar+gzip",
        Done = done,
        Total = total,
        Phase = phase,
    };

    [Test]
    public void Plain_output_has_one_line_per_finished_blob_and_no_escape_sequences()
    {
        var output = new StringWriter();
        var display = new PullProgressDisplay(output, terminal: false);
        display.Update(Blob('a', "downloading", 100));
        display.Update(Blob('b', "exists", 2000));
        display.Update(Blob('a', "downloading", 1500));
        display.Update(Blob('a', "done", 2000));
        display.Update(Blob('a', "done", 2000));
        Assert.That(output.ToString(), Is.EqualTo(
            $"layer sha256:{new string('b', 64)}: exists 2kB\nlayer sha256:{new string('a', 64)}: done 2kB\n"));
    }

    [Test]
    public void A_terminal_gets_a_line_per_blob_redrawn_in_place()
    {
        var output = new StringWriter();
        var display = new PullProgressDisplay(output, terminal: true);
        display.Update(Blob('a', "downloading", 100));
        display.Update(Blob('b', "waiting", 0));
        display.Update(Blob('a', "done", 2000));
        var text = output.ToString();
        Assert.Multiple(() =>
        {
            // The second draw moves up over the first one's line, the third over both.
            Assert.That(text, Does.Contain("\x1b[1A").And.Contain("\x1b[2A"));
            Assert.That(text.Split('\n').Last(l => l.Contains("sha256:aaaa", StringComparison.Ordinal)), Does.Contain("done").And.Contain("2kB/2kB"));
            Assert.That(text, Does.Contain("sha256:bbbbbbbbbbbb"));
        });
    }
}
