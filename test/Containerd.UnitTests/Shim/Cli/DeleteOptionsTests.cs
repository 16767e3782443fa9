using Containerd.Shim.Cli;

namespace Containerd.UnitTests.Shim.Cli;

public sealed class DeleteOptionsTests
{
    private string _bundle = null!;

    [SetUp]
    public void SetUp() => _bundle = Directory.CreateTempSubdirectory("shim-delete-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_bundle, recursive: true);

    [Test]
    public void Runtime_given_wins_over_the_bundles_record()
    {
        File.WriteAllText(Path.Combine(_bundle, "runtime"), "crun");
        Assert.That(Parse("--runtime", "/opt/runc").ResolveRuntime(), Is.EqualTo("/opt/runc"));
    }

    [Test]
    public void Runtime_recorded_in_the_bundle_comes_next()
    {
        File.WriteAllText(Path.Combine(_bundle, "runtime"), "crun\n");
        Assert.That(Parse().ResolveRuntime(), Is.EqualTo("crun"));
    }

    [Test]
    public void Runtime_defaults_to_runc() => Assert.That(Parse().ResolveRuntime(), Is.EqualTo("runc"));

    [Test]
    public void A_socket_is_not_an_option_of_delete()
    {
        var error = Assert.Throws<ArgumentException>(() => Parse("--socket", "/x.sock"))!;
        Assert.That(error.Message, Does.Contain("--socket"));
    }

    [Test]
    public void The_runtime_root_is_required()
    {
        var error = Assert.Throws<ArgumentException>(() =>
            DeleteOptions.Parse(["--namespace", "default", "--id", "c1", "--bundle", _bundle]))!;
        Assert.That(error.Message, Does.Contain("--runtime-root"));
    }

    private DeleteOptions Parse(params string[] extra) =>
        DeleteOptions.Parse(["--namespace", "default", "--id", "c1", "--bundle", _bundle, "--runtime-root", "/run/r", .. extra]);
}
