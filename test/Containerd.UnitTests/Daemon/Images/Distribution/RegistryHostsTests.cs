using Containerd.Daemon.Images.Distribution;

namespace Containerd.UnitTests.Daemon.Images.Distribution;

public sealed class RegistryHostsTests
{
    [Test]
    public void Without_a_file_a_registry_is_its_own_https_endpoint_and_docker_io_is_registry_1()
    {
        var hosts = new RegistryHosts(null);
        Assert.Multiple(() =>
        {
            Assert.That(hosts.Resolve("docker.io", false).Single().BaseUri, Is.EqualTo(new Uri("https://registry-1.docker.io")));
            Assert.That(hosts.Resolve("127.0.0.1:5000", false).Single().BaseUri, Is.EqualTo(new Uri("https://127.0.0.1:5000")));
            Assert.That(hosts.Resolve("127.0.0.1:5000", true).Single().BaseUri, Is.EqualTo(new Uri("http://127.0.0.1:5000")));
            Assert.That(hosts.Resolve("127.0.0.1:5000", true).Single().Api("x/manifests/latest"), Is.EqualTo(new Uri("http://127.0.0.1:5000/v2/x/manifests/latest")));
        });
    }

    [Test]
    public void A_hosts_toml_lists_mirrors_in_order_then_the_server()
    {
        var endpoints = RegistryHosts.Parse("registry.example", """
            server = "https://registry.example:8443"
            skip_verify = true

            [host."http://127.0.0.1:5000"]
              capabilities = ["pull", "resolve"]

            [host."https://mirror.example"]
              capabilities = ["pull"]
              ca = ["/etc/ca1.pem", "/etc/ca2.pem"]
            """, "hosts.toml", plainHttp: false);
        Assert.That(endpoints.Select(e => e.ToString()), Is.EqualTo(new[] { "http://127.0.0.1:5000", "https://mirror.example", "https://registry.example:8443" }));
        Assert.Multiple(() =>
        {
            Assert.That(endpoints[0].CanResolve, Is.True);
            Assert.That(endpoints[1].CanResolve, Is.False);
            Assert.That(endpoints[1].CaFiles, Is.EqualTo(new[] { "/etc/ca1.pem", "/etc/ca2.pem" }));
            Assert.That(endpoints[2].SkipVerify, Is.True);
            Assert.That(endpoints[0].SkipVerify, Is.False);
        });
    }

    [TestCase("header = 1", "unsupported key")]
    [TestCase("skip_verify = \"yes\"", "unexpected value type")]
    [TestCase("server = \"ftp://x\"", "not an http")]
    [TestCase("[mirrors]\nx = 1", "unknown table")]
    [TestCase("server = ", "hosts.toml:1")]
    public void A_bad_file_names_itself_and_the_problem(string text, string message)
    {
        var e = Assert.Throws<RegistryException>(() => RegistryHosts.Parse("r.example", text, "hosts.toml", false));
        Assert.That(e!.Message, Does.Contain(message).And.Contain("hosts.toml"));
    }

    [Test]
    public void Files_are_found_per_registry_then_default()
    {
        var root = Directory.CreateTempSubdirectory("certs.d-");
        try
        {
            Directory.CreateDirectory(Path.Combine(root.FullName, "127.0.0.1:5000"));
            File.WriteAllText(Path.Combine(root.FullName, "127.0.0.1:5000", "hosts.toml"), "server = \"http://127.0.0.1:5000\"");
            Directory.CreateDirectory(Path.Combine(root.FullName, "_default"));
            File.WriteAllText(Path.Combine(root.FullName, "_default", "hosts.toml"), "skip_verify = true");
            var hosts = new RegistryHosts(root.FullName);
            Assert.Multiple(() =>
            {
                Assert.That(hosts.Resolve("127.0.0.1:5000", false).Single().BaseUri.Scheme, Is.EqualTo("http"));
                Assert.That(hosts.Resolve("other.example", false).Single().SkipVerify, Is.True);
                Assert.That(new RegistryHosts(Path.Combine(root.FullName, "absent")).Resolve("x.example", false).Single().BaseUri, Is.EqualTo(new Uri("https://x.example")));
            });
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }
}
