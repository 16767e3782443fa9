using Containerd.Daemon.Config;

namespace Containerd.UnitTests.Daemon.Hosting;

/// <summary>The README's Configuration section keeps up with the keys the daemon accepts.</summary>
public sealed class ConfigDocumentationTests
{
    [Test]
    public void The_readme_documents_every_key_with_its_default()
    {
        var readme = File.ReadAllText(Path.Combine(RepoRoot(), "README.md"));
        var start = readme.IndexOf("## Configuration", StringComparison.Ordinal);
        Assert.That(start, Is.GreaterThanOrEqualTo(0));
        var section = readme[start..readme.IndexOf("\n## ", start + 1, StringComparison.Ordinal)];
        Assert.Multiple(() =>
        {
            foreach (var key in ConfigKeys.All)
                Assert.That(section, Does.Contain($"| `{key.LocalName}` |").And.Contain($"`{key.Literal(DaemonConfig.Default)}`"), key.Name);
            Assert.That(section, Does.Contain("containerd config default > /etc/containerd-cs/config.toml"));
        });
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Containerd.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException("no Containerd.sln above " + AppContext.BaseDirectory);
    }
}
