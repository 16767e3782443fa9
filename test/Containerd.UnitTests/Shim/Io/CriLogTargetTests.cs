using Containerd.Shared.Tasks;

namespace Containerd.UnitTests.Shim.Io;

public sealed class CriLogTargetTests
{
    [Test]
    public void A_target_is_the_scheme_and_an_absolute_path()
    {
        Assert.That(CriLogTarget.For("/var/log/pods/p/c/0.log"), Is.EqualTo("crilog:///var/log/pods/p/c/0.log"));
        Assert.That(CriLogTarget.TryParse("crilog:///var/log/pods/p/c/0.log", out var path, out var problem), Is.True);
        Assert.That((path, problem), Is.EqualTo(("/var/log/pods/p/c/0.log", (string?)null)));
        Assert.That(() => CriLogTarget.For("relative.log"), Throws.ArgumentException.With.Message.Contains("crilog://relative.log"));
    }

    [TestCase("")]
    [TestCase("/run/fifo/stdout")]
    [TestCase("relative")]
    [TestCase("file:///x")]
    public void Other_values_are_not_targets(string value)
    {
        Assert.That(CriLogTarget.Is(value), Is.False);
        Assert.That(CriLogTarget.TryParse(value, out _, out _), Is.Null);
    }

    [TestCase("crilog://relative.log", "must name an absolute file path")]
    [TestCase("crilog://", "must name an absolute file path")]
    [TestCase("crilog:///", "must name an absolute file path")]
    [TestCase("crilog:/abs.log", "must be crilog:// followed by an absolute path")]
    [TestCase("crilog:x", "must be crilog:// followed by an absolute path")]
    [TestCase("crilog:///var/log/", "names a directory")]
    [TestCase("crilog:///a\0b", "NUL")]
    public void Malformed_targets_are_refused_naming_the_value(string value, string why)
    {
        Assert.That(CriLogTarget.TryParse(value, out _, out var problem), Is.False);
        Assert.That(problem, Does.Contain($"\"{value}\"").And.Contain(why));
    }

    [Test]
    public void Check_names_the_stream()
    {
        Assert.That(CriLogTarget.Check("", "crilog:///l/0.log", "crilog:///l/0.log"), Is.Null);
        Assert.That(CriLogTarget.Check("", "/fifo/out", ""), Is.Null);
        Assert.That(CriLogTarget.Check("", "crilog://x", ""), Does.StartWith("stdout: CRI log target \"crilog://x\""));
        Assert.That(CriLogTarget.Check("", "", "crilog:x"), Does.StartWith("stderr: CRI log target \"crilog:x\""));
        Assert.That(CriLogTarget.Check("crilog:///l/0.log", "", ""), Does.StartWith("stdin \"crilog:///l/0.log\" cannot be a CRI log target"));
    }
}
