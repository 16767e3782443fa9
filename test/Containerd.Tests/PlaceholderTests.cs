namespace Containerd.Tests;

public sealed class PlaceholderTests
{
    [Test]
    public void Builds() => Assert.Pass();
}
