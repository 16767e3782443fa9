using Containerd.Shim;

namespace Containerd.UnitTests.Shim;

public sealed class ShimOptionsTests
{
    [Test]
    public void A_missing_id_is_named()
    {
        var error = Assert.Throws<ArgumentException>(() => ShimOptions.Parse(["--namespace", "default"]));
        Assert.That(error!.Message, Does.Contain("--id"));
    }

    [Test]
    public void An_unknown_option_is_named()
    {
        var error = Assert.Throws<ArgumentException>(() => ShimOptions.Parse(["--colour", "blue"]));
        Assert.That(error!.Message, Does.Contain("--colour"));
    }
}
