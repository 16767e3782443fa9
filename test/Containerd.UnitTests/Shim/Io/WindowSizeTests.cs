using Containerd.Shared.Tasks;

namespace Containerd.UnitTests.Shim.Io;

public sealed class WindowSizeTests
{
    [Test]
    public void Width_is_columns_and_height_is_rows()
    {
        var size = WindowSize.TryCreate(100, 40, out var problem);
        Assert.That(problem, Is.Null);
        Assert.That(size, Is.EqualTo(new WindowSize(Columns: 100, Rows: 40)));
    }

    [TestCase(0u, 40u)]
    [TestCase(100u, 0u)]
    [TestCase(0u, 0u)]
    public void A_zero_size_is_refused(uint width, uint height)
    {
        Assert.That(WindowSize.TryCreate(width, height, out var problem), Is.Null);
        Assert.That(problem, Does.Contain("must not be 0"));
    }

    [TestCase(65536u, 40u)]
    [TestCase(100u, 70000u)]
    public void A_size_beyond_winsize_is_refused(uint width, uint height)
    {
        Assert.That(WindowSize.TryCreate(width, height, out var problem), Is.Null);
        Assert.That(problem, Does.Contain("at most 65535"));
    }
}
