using System.Text;
using System.Text.Json.Nodes;
using Containerd.Daemon.Tasks;

namespace Containerd.UnitTests.Daemon.Tasks;

/// <summary>The bundle's config.json: a cgroups path of the task's own namespace unless the spec names one.</summary>
public sealed class BundleConfigTests
{
    private static JsonNode Written(string spec) => JsonNode.Parse(BundleConfig.For(Encoding.UTF8.GetBytes(spec), "ns1", "web"))!;

    [Test]
    public void A_spec_without_one_gets_namespace_slash_id_and_keeps_everything_else()
    {
        var written = Written("""{"ociVersion":"1.0.2","linux":{"resources":{"memory":{"limit":1048576}}}}""");
        Assert.That(written["linux"]!["cgroupsPath"]!.GetValue<string>(), Is.EqualTo("/ns1/web"));
        Assert.That(written["linux"]!["resources"]!["memory"]!["limit"]!.GetValue<long>(), Is.EqualTo(1048576));
        Assert.That(written["ociVersion"]!.GetValue<string>(), Is.EqualTo("1.0.2"));
        Assert.That(Written("""{"ociVersion":"1.0.2"}""")["linux"]!["cgroupsPath"]!.GetValue<string>(), Is.EqualTo("/ns1/web"));
        Assert.That(Written("""{"linux":{"cgroupsPath":""}}""")["linux"]!["cgroupsPath"]!.GetValue<string>(), Is.EqualTo("/ns1/web"));
    }

    [Test]
    public void A_path_the_spec_names_and_specs_that_are_no_object_pass_unchanged()
    {
        foreach (var spec in new[] { """{"linux":{"cgroupsPath":"/mine"}}""", "[1]", "not json", """{"linux":5}""" })
            Assert.That(Encoding.UTF8.GetString(BundleConfig.For(Encoding.UTF8.GetBytes(spec), "ns1", "web")), Is.EqualTo(spec));
    }
}
