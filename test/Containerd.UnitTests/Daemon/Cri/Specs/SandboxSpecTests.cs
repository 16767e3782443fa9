using Containerd.Daemon.Cri.Specs;
using Containerd.Shared.Oci;
using Grpc.Core;
using Runtime.V1;
using static Containerd.UnitTests.Daemon.Cri.Specs.SpecInputs;

namespace Containerd.UnitTests.Daemon.Cri.Specs;

/// <summary>The pause container's spec: containerd 1.6's sandboxContainerSpec, rule by rule.</summary>
public sealed class SandboxSpecTests
{
    [Test]
    public void A_default_pod_gets_the_image_process_a_readonly_root_and_its_own_namespaces()
    {
        var spec = SandboxSpec.Build(Sandbox());
        Assert.Multiple(() =>
        {
            Assert.That(Strings(spec["process"]!["args"]), Is.EqualTo(new[] { "/pause" }));
            Assert.That(Strings(spec["process"]!["env"]), Is.EqualTo(new[] { "PATH=/usr/bin" }));
            Assert.That((string?)spec["process"]!["cwd"], Is.EqualTo("/"));
            Assert.That((int?)spec["process"]!["oomScoreAdj"], Is.EqualTo(-998));
            Assert.That((bool?)spec["process"]!["noNewPrivileges"], Is.True);
            Assert.That(spec["process"]!["rlimits"], Is.Null, "CRI removes the default rlimits");
            Assert.That(Strings(spec["process"]!["capabilities"]!["bounding"]), Is.EqualTo(Capabilities.Default));
            Assert.That((bool?)spec["root"]!["readonly"], Is.True);
            Assert.That((string?)spec["root"]!["path"], Is.EqualTo("rootfs"));
            Assert.That((string?)spec["hostname"], Is.EqualTo("web-host"));
            Assert.That(NamespaceTypes(spec), Is.EqualTo(new[] { "pid", "ipc", "uts", "mount", "network" }));
            Assert.That((string?)Namespace(spec, "network")!["path"], Is.EqualTo("/var/run/netns/cni-1"));
            Assert.That((string?)spec["linux"]!["cgroupsPath"], Is.EqualTo("/kubepods/besteffort/poduid-1/sb1"));
            Assert.That((long?)spec["linux"]!["resources"]!["cpu"]!["shares"], Is.EqualTo(2));
            Assert.That(Strings(spec["linux"]!["maskedPaths"]), Is.EqualTo(RuntimeSpec.DefaultMaskedPaths));
            Assert.That(spec["linux"]!["seccomp"], Is.Null, "unset is unconfined in containerd 1.6");
        });
    }

    [Test]
    public void The_sandbox_mounts_its_shm_and_resolv_conf_read_only_but_not_hostname_or_hosts()
    {
        var spec = SandboxSpec.Build(Sandbox());
        Assert.Multiple(() =>
        {
            var shm = Mount(spec, "/dev/shm")!;
            Assert.That((string?)shm["source"], Is.EqualTo("/run/s/shm"));
            Assert.That(Strings(shm["options"]), Is.EqualTo(new[] { "rbind", "ro" }));
            var resolv = Mount(spec, "/etc/resolv.conf")!;
            Assert.That((string?)resolv["source"], Is.EqualTo("/run/s/resolv.conf"));
            Assert.That(Strings(resolv["options"]), Is.EqualTo(new[] { "rbind", "ro" }));
            Assert.That(Mount(spec, "/etc/hostname"), Is.Null);
            Assert.That(Mount(spec, "/etc/hosts"), Is.Null);
            Assert.That(Mount(spec, "/run"), Is.Null, "CRI drops the default /run tmpfs");
            Assert.That((string?)Mount(spec, "/proc")!["type"], Is.EqualTo("proc"));
            Assert.That(Mount(spec, "/sys/fs/cgroup"), Is.Null, "only containers mount the cgroup fs");
        });
    }

    [Test]
    public void Without_files_the_default_shm_tmpfs_stays_and_no_resolv_conf_is_mounted()
    {
        var spec = SandboxSpec.Build(Sandbox() with { Files = SandboxFiles.None });
        Assert.Multiple(() =>
        {
            Assert.That((string?)Mount(spec, "/dev/shm")!["type"], Is.EqualTo("tmpfs"));
            Assert.That(Mount(spec, "/etc/resolv.conf"), Is.Null);
        });
    }

    // mode of network, pid, ipc → the namespaces the sandbox gets
    [TestCase(NamespaceMode.Pod, NamespaceMode.Pod, NamespaceMode.Pod, "pid,ipc,uts,mount,network")]
    [TestCase(NamespaceMode.Node, NamespaceMode.Pod, NamespaceMode.Pod, "pid,ipc,mount")]
    [TestCase(NamespaceMode.Pod, NamespaceMode.Node, NamespaceMode.Pod, "ipc,uts,mount,network")]
    [TestCase(NamespaceMode.Pod, NamespaceMode.Pod, NamespaceMode.Node, "pid,uts,mount,network")]
    [TestCase(NamespaceMode.Node, NamespaceMode.Node, NamespaceMode.Node, "mount")]
    public void Host_namespaces_leave_their_entries_out(NamespaceMode network, NamespaceMode pid, NamespaceMode ipc, string expected)
    {
        var spec = SandboxSpec.Build(Sandbox(p => p.Linux.SecurityContext.NamespaceOptions =
            new NamespaceOption { Network = network, Pid = pid, Ipc = ipc }));
        Assert.That(string.Join(',', NamespaceTypes(spec)), Is.EqualTo(expected));
    }

    [Test]
    public void Host_network_sets_no_hostname_and_host_ipc_binds_the_host_shm()
    {
        var spec = SandboxSpec.Build(Sandbox(p => p.Linux.SecurityContext.NamespaceOptions =
            new NamespaceOption { Network = NamespaceMode.Node, Ipc = NamespaceMode.Node }) with { NetworkNamespacePath = null });
        Assert.Multiple(() =>
        {
            Assert.That(spec["hostname"], Is.Null);
            Assert.That((string?)Mount(spec, "/dev/shm")!["source"], Is.EqualTo("/dev/shm"));
        });
    }

    [Test]
    public void A_null_netns_path_without_host_network_is_a_new_network_namespace()
    {
        var spec = SandboxSpec.Build(Sandbox() with { NetworkNamespacePath = null });
        Assert.That(Namespace(spec, "network")!.ContainsKey("path"), Is.False);
    }

    [TestCase("", "/k8s.io/sb1")]
    [TestCase("/kubepods", "/kubepods/sb1")]
    [TestCase("/kubepods/", "/kubepods/sb1")]
    [TestCase("kubepods.slice", "kubepods.slice:cri-containerd:sb1")]
    [TestCase("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice", "kubepods-besteffort-pod1.slice:cri-containerd:sb1")]
    public void The_cgroup_path_is_parent_slash_id_or_systemd_style_for_slices(string parent, string expected)
    {
        Assert.That(CgroupPaths.For(parent, "sb1"), Is.EqualTo(expected));
        Assert.That(CgroupPaths.IsSystemd(parent), Is.EqualTo(expected.Contains(':')));
        var spec = SandboxSpec.Build(Sandbox(p => p.Linux.CgroupParent = parent));
        Assert.That((string?)spec["linux"]!["cgroupsPath"], Is.EqualTo(expected));
    }

    [Test]
    public void Annotations_name_the_pod_and_resources_become_annotations_only()
    {
        var spec = SandboxSpec.Build(Sandbox(p => p.Linux.Resources = new LinuxContainerResources
        {
            CpuPeriod = 100000, CpuQuota = 50000, CpuShares = 512, MemoryLimitInBytes = 1 << 26,
        }));
        var annotations = spec["annotations"]!.AsObject();
        Assert.Multiple(() =>
        {
            Assert.That((string?)annotations["io.kubernetes.cri.container-type"], Is.EqualTo("sandbox"));
            Assert.That((string?)annotations["io.kubernetes.cri.sandbox-id"], Is.EqualTo("sb1"));
            Assert.That((string?)annotations["io.kubernetes.cri.sandbox-name"], Is.EqualTo("web"));
            Assert.That((string?)annotations["io.kubernetes.cri.sandbox-namespace"], Is.EqualTo("default"));
            Assert.That((string?)annotations["io.kubernetes.cri.sandbox-uid"], Is.EqualTo("uid-1"));
            Assert.That((string?)annotations["io.kubernetes.cri.sandbox-log-directory"], Is.EqualTo("/var/log/pods/default_web_uid-1"));
            Assert.That((string?)annotations["io.kubernetes.cri.sandbox-cpu-period"], Is.EqualTo("100000"));
            Assert.That((string?)annotations["io.kubernetes.cri.sandbox-cpu-quota"], Is.EqualTo("50000"));
            Assert.That((string?)annotations["io.kubernetes.cri.sandbox-cpu-shares"], Is.EqualTo("512"));
            Assert.That((string?)annotations["io.kubernetes.cri.sandbox-memory"], Is.EqualTo("67108864"));
            Assert.That((long?)spec["linux"]!["resources"]!["cpu"]!["shares"], Is.EqualTo(2), "the pause process keeps shares 2");
            Assert.That(spec["linux"]!["resources"]!["memory"], Is.Null);
        });
    }

    [Test]
    public void Sysctls_user_and_supplemental_groups_are_applied()
    {
        var input = Sandbox(p =>
        {
            p.Linux.Sysctls.Add("net.ipv4.ip_forward", "1");
            p.Linux.Sysctls.Add("kernel.shm_rmid_forced", "1");
            p.Linux.SecurityContext.SupplementalGroups.Add([300, 100]);
        }) with { User = new SpecUser(65535, 65535, [200]) };
        var spec = SandboxSpec.Build(input);
        Assert.Multiple(() =>
        {
            Assert.That((string?)spec["linux"]!["sysctl"]!["net.ipv4.ip_forward"], Is.EqualTo("1"));
            Assert.That((string?)spec["linux"]!["sysctl"]!["kernel.shm_rmid_forced"], Is.EqualTo("1"));
            Assert.That((uint?)spec["process"]!["user"]!["uid"], Is.EqualTo(65535));
            Assert.That((uint?)spec["process"]!["user"]!["gid"], Is.EqualTo(65535));
            Assert.That(spec["process"]!["user"]!["additionalGids"]!.AsArray().Select(g => (uint)g!),
                Is.EqualTo(new uint[] { 100, 200, 300, 65535 }));
        });
    }

    [Test]
    public void Seccomp_runtime_default_applies_unless_privileged()
    {
        var confined = SandboxSpec.Build(Sandbox(p => p.Linux.SecurityContext.Seccomp =
            new SecurityProfile { ProfileType = SecurityProfile.Types.ProfileType.RuntimeDefault }));
        var privileged = SandboxSpec.Build(Sandbox(p =>
        {
            p.Linux.SecurityContext.Seccomp = new SecurityProfile { ProfileType = SecurityProfile.Types.ProfileType.RuntimeDefault };
            p.Linux.SecurityContext.Privileged = true;
        }));
        Assert.Multiple(() =>
        {
            Assert.That((string?)confined["linux"]!["seccomp"]!["defaultAction"], Is.EqualTo("SCMP_ACT_ERRNO"));
            Assert.That(privileged["linux"]!["seccomp"], Is.Null);
        });
    }

    [Test]
    public void An_image_without_entrypoint_or_cmd_is_refused()
    {
        var e = Assert.Throws<SpecException>(() => SandboxSpec.Build(Sandbox() with { Image = ImageConfig.Empty }));
        Assert.That(e!.Code, Is.EqualTo(StatusCode.InvalidArgument));
        Assert.That(e.Message, Does.Contain("sandbox sb1").And.Contain("entrypoint or cmd"));
    }

    [TestCase(null, -998)]
    [TestCase(0, 0)]
    [TestCase(-999, -998)]
    public void The_oom_score_is_raised_to_the_floor(int? floor, int expected)
    {
        var spec = SandboxSpec.Build(Sandbox() with { OomScoreAdjFloor = floor });
        Assert.That((int?)spec["process"]!["oomScoreAdj"], Is.EqualTo(expected));
    }

    [Test]
    public void The_image_working_dir_is_the_cwd()
    {
        var spec = SandboxSpec.Build(Sandbox() with { Image = Pause with { WorkingDir = "/w" } });
        Assert.That((string?)spec["process"]!["cwd"], Is.EqualTo("/w"));
    }
}
