using Containerd.Ctr.Io;

namespace Containerd.UnitTests.Ctr;

/// <summary>Deleting a task removes ctr's FIFO directory only when the task's stdio paths lie directly in one of ctr's own.</summary>
public sealed class FifoDirectoryTests
{
    [Test]
    public void A_fifo_in_a_directory_ctr_made_names_that_directory() =>
        Assert.That(FifoDirectory.OwnerOf("/run/containerd-cs/ctr/web-abc123/stdout"), Is.EqualTo("/run/containerd-cs/ctr/web-abc123"));

    [Test]
    public void The_temp_fallback_counts_too()
    {
        var directory = Path.Combine(Path.GetTempPath(), "ctr", "web-abc123");
        Assert.That(FifoDirectory.OwnerOf(Path.Combine(directory, "stdin")), Is.EqualTo(directory));
    }

    [TestCase("")]
    [TestCase("relative/ctr/x/stdout")]
    [TestCase("/tmp/mine/stdout")]
    [TestCase("/run/containerd-cs/ctr/stdout")]
    [TestCase("/run/containerd-cs/ctr/a/b/stdout")]
    [TestCase("/run/containerd-cs/ctr/../../../etc/x/stdout")]
    public void Any_other_path_is_left_alone(string path) =>
        Assert.That(FifoDirectory.OwnerOf(path), Is.Null);
}
