using System.Text.Json.Nodes;
using Containerd.Daemon.Cri.Stats;

namespace Containerd.UnitTests.Daemon.Cri.Stats;

public sealed class CgroupLocatorTests
{
    [TestCase("a.slice", "a.slice")]
    [TestCase("a-b.slice", "a.slice/a-b.slice")]
    [TestCase("kubepods-burstable-pod123.slice", "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod123.slice")]
    [TestCase("-.slice", "")]
    public void A_slice_expands_as_systemd_nests_it(string slice, string expected) =>
        Assert.That(CgroupLocator.ExpandSlice(slice), Is.EqualTo(expected));

    [TestCase("a--b.slice")]
    [TestCase("-a.slice")]
    [TestCase("a-.slice")]
    [TestCase("a/b.slice")]
    [TestCase("a.scope")]
    public void An_invalid_slice_is_refused(string slice) =>
        Assert.Throws<FormatException>(() => CgroupLocator.ExpandSlice(slice));

    [TestCase("kubepods-besteffort-podab.slice:cri-containerd:abc123",
        "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podab.slice/cri-containerd-abc123.scope")]
    [TestCase(":cri-containerd:abc", "system.slice/cri-containerd-abc.scope")]
    [TestCase("kubepods.slice::kubepods-x.slice", "kubepods.slice/kubepods-x.slice")]
    [TestCase("/kubepods/burstable/podX/abc", "kubepods/burstable/podX/abc")]
    [TestCase("//kubepods//abc/", "kubepods/abc")]
    [TestCase("kubepods-burstable.slice", "kubepods.slice/kubepods-burstable.slice")]
    public void A_cgroups_path_resolves_below_the_root(string cgroupsPath, string expected)
    {
        var (path, relative) = CgroupLocator.Resolve(cgroupsPath);
        Assert.That(path, Is.EqualTo(expected));
        Assert.That(relative, Is.False);
    }

    [TestCase("")]
    [TestCase("/a/../b")]
    [TestCase("a.slice:p:")]
    [TestCase("bad-.slice:p:n")]
    public void An_invalid_cgroups_path_is_refused(string cgroupsPath) =>
        Assert.Throws<FormatException>(() => CgroupLocator.Resolve(cgroupsPath));

    [Test]
    public void V1_gives_each_controller_its_hierarchy_and_null_for_one_not_mounted()
    {
        using var tree = FakeCgroupTree.V1("cpu", "cpuacct", "memory");
        var locator = new CgroupLocator(tree.Root);
        Assert.That(locator.IsUnified, Is.False);
        var paths = locator.Locate("/k8s/c1");
        Assert.That(paths, Is.EqualTo(new CgroupPaths(
            false, tree.Dir("cpu/k8s/c1"), tree.Dir("cpuacct/k8s/c1"), tree.Dir("memory/k8s/c1"), null)));
    }

    [Test]
    public void V1_finds_a_controller_in_a_co_mounted_hierarchy()
    {
        using var tree = FakeCgroupTree.V1("cpu,cpuacct", "memory", "pids");
        var paths = new CgroupLocator(tree.Root).Locate("/k8s/c1");
        Assert.That(paths.Cpu, Is.EqualTo(tree.Dir("cpu,cpuacct/k8s/c1")));
        Assert.That(paths.CpuAcct, Is.EqualTo(tree.Dir("cpu,cpuacct/k8s/c1")));
        Assert.That(paths.Pids, Is.EqualTo(tree.Dir("pids/k8s/c1")));
    }

    [Test]
    public void V2_is_one_directory_for_everything()
    {
        using var tree = FakeCgroupTree.V2();
        var locator = new CgroupLocator(tree.Root);
        Assert.That(locator.IsUnified, Is.True);
        var dir = tree.Dir("kubepods.slice/kubepods-pod1.slice/cri-containerd-c1.scope");
        Assert.That(locator.Locate("kubepods-pod1.slice:cri-containerd:c1"), Is.EqualTo(new CgroupPaths(true, dir, dir, dir, dir)));
    }

    [Test]
    public void A_relative_path_is_below_our_own_cgroup_for_each_controller()
    {
        using var tree = FakeCgroupTree.V1("cpu", "cpuacct", "memory", "pids");
        var self = tree.Write("self-cgroup", "4:memory:/daemon/mem\n3:pids:/\n2:cpu,cpuacct:/daemon\n0::/\n");
        var paths = new CgroupLocator(tree.Root, self).Locate("ns/c1");
        Assert.That(paths.Memory, Is.EqualTo(tree.Dir("memory/daemon/mem/ns/c1")));
        Assert.That(paths.Cpu, Is.EqualTo(tree.Dir("cpu/daemon/ns/c1")));
        Assert.That(paths.Pids, Is.EqualTo(tree.Dir("pids/ns/c1")));
        Assert.That(CgroupLocator.Resolve("ns/c1"), Is.EqualTo(("ns/c1", true)));
    }

    [Test]
    public void A_relative_path_on_v2_is_below_our_unified_cgroup()
    {
        using var tree = FakeCgroupTree.V2();
        var self = tree.Write("self-cgroup", "0::/system.slice/containerd.service\n");
        Assert.That(new CgroupLocator(tree.Root, self).Locate("ns/c1").Memory,
            Is.EqualTo(tree.Dir("system.slice/containerd.service/ns/c1")));
    }

    [Test]
    public void The_cgroups_path_of_a_spec()
    {
        Assert.That(CgroupLocator.CgroupsPathOf(JsonNode.Parse("""{"linux":{"cgroupsPath":"/a/b"}}""")), Is.EqualTo("/a/b"));
        Assert.That(CgroupLocator.CgroupsPathOf(JsonNode.Parse("""{"linux":{"cgroupsPath":""}}""")), Is.Null);
        Assert.That(CgroupLocator.CgroupsPathOf(JsonNode.Parse("""{"linux":{"cgroupsPath":5}}""")), Is.Null);
        Assert.That(CgroupLocator.CgroupsPathOf(JsonNode.Parse("""{"process":{}}""")), Is.Null);
    }
}
