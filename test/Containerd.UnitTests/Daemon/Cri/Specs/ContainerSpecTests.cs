using System.Text;
using System.Text.Json.Nodes;
using Containerd.Daemon.Cri.Specs;
using Containerd.Shared.Oci;
using Grpc.Core;
using Runtime.V1;
using static Containerd.UnitTests.Daemon.Cri.Specs.SpecInputs;

namespace Containerd.UnitTests.Daemon.Cri.Specs;

/// <summary>A container's spec: containerd 1.6's containerSpec, rule by rule.</summary>
public sealed class ContainerSpecTests
{
    private static JsonObject Build(Action<ContainerConfig>? change = null, Action<PodSandboxConfig>? pod = null) =>
        ContainerSpec.Build(ContainerInput(change, pod));

    // image entrypoint | image cmd | command | args → process.args ("|" separates words)
    [TestCase("", "sh", "", "", "sh")]
    [TestCase("/tini|--", "sh", "", "", "/tini|--|sh")]
    [TestCase("/tini|--", "sh", "", "echo|hi", "/tini|--|echo|hi")]
    [TestCase("/tini|--", "sh", "ls", "", "ls")]
    [TestCase("/tini|--", "sh", "ls", "-l", "ls|-l")]
    [TestCase("", "", "", "echo", "echo")]
    [TestCase("<empty>", "sh", "", "", "sh")]
    public void Args_follow_kubernetes_command_and_args_semantics(string entrypoint, string cmd, string command, string args, string expected)
    {
        static string[] Words(string s) => s == "<empty>" ? [""] : s.Length == 0 ? [] : s.Split('|');
        var input = ContainerInput(c =>
        {
            c.Command.Add(Words(command));
            c.Args.Add(Words(args));
        }) with { Image = Busybox with { Entrypoint = Words(entrypoint), Cmd = Words(cmd) } };
        var spec = ContainerSpec.Build(input);
        Assert.That(Strings(spec["process"]!["args"]), Is.EqualTo(Words(expected)));
    }

    [Test]
    public void No_command_anywhere_is_invalid_argument()
    {
        var e = Assert.Throws<SpecException>(() => ContainerSpec.Build(ContainerInput() with { Image = ImageConfig.Empty }));
        Assert.That(e!.Code, Is.EqualTo(StatusCode.InvalidArgument));
        Assert.That(e.Message, Does.Contain("container c1").And.Contain("no command specified"));
    }

    [Test]
    public void Env_is_path_hostname_image_then_config_each_key_overriding()
    {
        var spec = Build(c =>
        {
            c.Envs.Add(new Runtime.V1.KeyValue { Key = "LANG", Value = Google.Protobuf.ByteString.CopyFromUtf8("fr_FR") });
            c.Envs.Add(new Runtime.V1.KeyValue { Key = "EXTRA", Value = Google.Protobuf.ByteString.CopyFromUtf8("a=b") });
        });
        Assert.That(Strings(spec["process"]!["env"]),
            Is.EqualTo(new[] { "PATH=/bin", "HOSTNAME=web-host", "LANG=fr_FR", "EXTRA=a=b" }));
    }

    [Test]
    public void Without_an_image_path_the_default_path_stays_and_a_tty_adds_term()
    {
        var input = ContainerInput(c => c.Tty = true) with { Image = Busybox with { Env = [] } };
        var spec = ContainerSpec.Build(input);
        Assert.Multiple(() =>
        {
            Assert.That(Strings(spec["process"]!["env"]), Is.EqualTo(new[] { ProcessSpec.DefaultPath, "TERM=xterm", "HOSTNAME=web-host" }));
            Assert.That((bool?)spec["process"]!["terminal"], Is.True);
        });
    }

    [Test]
    public void Host_network_pods_take_hostname_from_the_node()
    {
        var input = ContainerInput(pod: p => p.Hostname = "") with { NodeHostname = "node-1" };
        Assert.That(Strings(ContainerSpec.Build(input)["process"]!["env"]), Does.Contain("HOSTNAME=node-1"));
    }

    [TestCase("/cfg", "/home", "/cfg")]
    [TestCase("", "/home", "/home")]
    [TestCase("", "", "/")]
    public void Cwd_is_the_config_s_else_the_image_s_else_root(string configDir, string imageDir, string expected)
    {
        var input = ContainerInput(c => c.WorkingDir = configDir) with { Image = Busybox with { WorkingDir = imageDir } };
        Assert.That((string?)ContainerSpec.Build(input)["process"]!["cwd"], Is.EqualTo(expected));
    }

    [Test]
    public void A_plain_container_gets_no_hostname_no_rlimits_and_new_privileges_allowed()
    {
        var spec = Build();
        Assert.Multiple(() =>
        {
            Assert.That(spec["hostname"], Is.Null);
            Assert.That(spec["process"]!["rlimits"], Is.Null);
            Assert.That((bool?)spec["process"]!["noNewPrivileges"], Is.False);
            Assert.That((bool?)spec["root"]!["readonly"], Is.False);
            Assert.That(spec["linux"]!["seccomp"], Is.Null);
            Assert.That((string?)spec["linux"]!["cgroupsPath"], Is.EqualTo("/kubepods/besteffort/poduid-1/c1"));
            Assert.That(spec["process"]!["capabilities"]!["ambient"], Is.Null);
            Assert.That(Strings(spec["linux"]!["maskedPaths"]), Is.EqualTo(RuntimeSpec.DefaultMaskedPaths));
            Assert.That(Strings(spec["linux"]!["readonlyPaths"]), Is.EqualTo(RuntimeSpec.DefaultReadonlyPaths));
        });
    }

    [Test]
    public void Readonly_rootfs_and_no_new_privs_are_applied()
    {
        var spec = Build(c =>
        {
            c.Linux.SecurityContext.ReadonlyRootfs = true;
            c.Linux.SecurityContext.NoNewPrivs = true;
        });
        Assert.Multiple(() =>
        {
            Assert.That((bool?)spec["root"]!["readonly"], Is.True);
            Assert.That((bool?)spec["process"]!["noNewPrivileges"], Is.True);
            Assert.That(Strings(Mount(spec, "/etc/hosts")!["options"]), Does.Contain("ro"), "sandbox files follow the read-only root");
            Assert.That(Strings(Mount(spec, "/dev/shm")!["options"]), Does.Contain("rw"), "shm stays writable");
        });
    }

    [Test]
    public void The_sandbox_files_are_bound_with_rbind_rprivate()
    {
        var spec = Build();
        Assert.Multiple(() =>
        {
            foreach (var (destination, source) in new[]
            {
                ("/etc/hostname", "/run/s/hostname"), ("/etc/hosts", "/run/s/hosts"),
                ("/etc/resolv.conf", "/run/s/resolv.conf"), ("/dev/shm", "/run/s/shm"),
            })
            {
                var mount = Mount(spec, destination)!;
                Assert.That((string?)mount["source"], Is.EqualTo(source), destination);
                Assert.That((string?)mount["type"], Is.EqualTo("bind"), destination);
                Assert.That(Strings(mount["options"]), Is.EqualTo(new[] { "rbind", "rprivate", "rw" }), destination);
            }
        });
    }

    [Test]
    public void Host_ipc_binds_the_host_shm_and_a_missing_hostname_file_is_not_mounted()
    {
        var input = ContainerInput(pod: p => p.Linux.SecurityContext.NamespaceOptions.Ipc = NamespaceMode.Node)
            with { SandboxFiles = Files with { Hostname = null } };
        var spec = ContainerSpec.Build(input);
        Assert.Multiple(() =>
        {
            Assert.That((string?)Mount(spec, "/dev/shm")!["source"], Is.EqualTo("/dev/shm"));
            Assert.That(Mount(spec, "/etc/hostname"), Is.Null);
        });
    }

    [Test]
    public void Mounts_are_defaults_then_requested_sorted_by_depth_and_a_mount_replaces_a_default()
    {
        var spec = Build(c => c.Mounts.Add(
        [
            new Mount { ContainerPath = "/data/deep/er", HostPath = "/h/3" },
            new Mount { ContainerPath = "/data", HostPath = "/h/1", Readonly = true },
            new Mount { ContainerPath = "/etc/hosts", HostPath = "/h/hosts" },
            new Mount { ContainerPath = "/sys", HostPath = "/h/sys" },
        ]));
        var destinations = spec["mounts"]!.AsArray().Select(m => (string)m!["destination"]!).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(destinations, Is.EqualTo(new[]
            {
                "/proc", "/dev", "/dev/pts", "/dev/mqueue", "/sys/fs/cgroup",
                "/data", "/sys", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/dev/shm", "/data/deep/er",
            }));
            Assert.That((string?)Mount(spec, "/etc/hosts")!["source"], Is.EqualTo("/h/hosts"), "the CRI mount wins over the sandbox's file");
            Assert.That(Strings(Mount(spec, "/data")!["options"]), Is.EqualTo(new[] { "rbind", "rprivate", "ro" }));
            Assert.That((string?)Mount(spec, "/sys/fs/cgroup")!["type"], Is.EqualTo("cgroup"));
            Assert.That(Strings(Mount(spec, "/sys/fs/cgroup")!["options"]), Does.Contain("ro"));
        });
    }

    [Test]
    public void A_dev_mount_drops_every_default_under_dev()
    {
        var spec = Build(c => c.Mounts.Add(new Mount { ContainerPath = "/dev/", HostPath = "/h/dev" }));
        var destinations = spec["mounts"]!.AsArray().Select(m => (string)m!["destination"]!).ToList();
        Assert.That(destinations.Where(d => d.StartsWith("/dev", StringComparison.Ordinal)), Is.EqualTo(new[] { "/dev/", "/dev/shm" }));
    }

    [TestCase(MountPropagation.PropagationPrivate, "rprivate", null)]
    [TestCase(MountPropagation.PropagationHostToContainer, "rslave", "rslave")]
    [TestCase(MountPropagation.PropagationBidirectional, "rshared", "rshared")]
    public void Propagation_sets_the_mount_option_and_the_rootfs_propagation(MountPropagation propagation, string option, string? rootfs)
    {
        var spec = Build(c => c.Mounts.Add(new Mount { ContainerPath = "/v", HostPath = "/h/v", Propagation = propagation }));
        Assert.Multiple(() =>
        {
            Assert.That(Strings(Mount(spec, "/v")!["options"]), Is.EqualTo(new[] { "rbind", option, "rw" }));
            Assert.That((string?)spec["linux"]!["rootfsPropagation"], Is.EqualTo(rootfs));
        });
    }

    [Test]
    public void Shared_wins_over_slave_for_the_rootfs_propagation_whatever_the_order()
    {
        var spec = Build(c => c.Mounts.Add(
        [
            new Mount { ContainerPath = "/a", HostPath = "/h/a", Propagation = MountPropagation.PropagationBidirectional },
            new Mount { ContainerPath = "/b", HostPath = "/h/b", Propagation = MountPropagation.PropagationHostToContainer },
        ]));
        Assert.That((string?)spec["linux"]!["rootfsPropagation"], Is.EqualTo("rshared"));
    }

    [TestCase("relative/path", "not absolute")]
    [TestCase("/ok", "recursive read-only")]
    public void Bad_mounts_are_invalid_argument(string containerPath, string message)
    {
        var e = Assert.Throws<SpecException>(() => Build(c => c.Mounts.Add(new Mount
        {
            ContainerPath = containerPath, HostPath = "/h", Readonly = true, RecursiveReadOnly = containerPath == "/ok",
        })));
        Assert.That(e!.Code, Is.EqualTo(StatusCode.InvalidArgument));
        Assert.That(e.Message, Does.Contain(message));
    }

    [Test]
    public void Devices_are_added_with_an_allow_rule_after_the_deny_all()
    {
        var spec = Build(c => c.Devices.Add(
        [
            new Device { HostPath = "/dev/fuse", ContainerPath = "/dev/fuse", Permissions = "rw" },
            new Device { HostPath = "/dev/loop0", ContainerPath = "/dev/xvda", Permissions = "rwm" },
        ]));
        var devices = spec["linux"]!["devices"]!.AsArray();
        var rules = spec["linux"]!["resources"]!["devices"]!.AsArray();
        Assert.Multiple(() =>
        {
            Assert.That(devices.Select(d => (string)d!["path"]!), Is.EqualTo(new[] { "/dev/fuse", "/dev/xvda" }));
            Assert.That((string?)devices[1]!["type"], Is.EqualTo("b"));
            Assert.That((long?)devices[1]!["major"], Is.EqualTo(7));
            Assert.That((uint?)devices[0]!["fileMode"], Is.EqualTo(0x1B6u));
            Assert.That((uint?)devices[1]!["gid"], Is.EqualTo(6u));
            Assert.That(rules.Count, Is.EqualTo(3));
            Assert.That((bool?)rules[0]!["allow"], Is.False);
            Assert.That((string?)rules[1]!["access"], Is.EqualTo("rw"));
            Assert.That((long?)rules[1]!["minor"], Is.EqualTo(229));
            Assert.That((bool?)rules[2]!["allow"], Is.True);
        });
    }

    [TestCase("/dev/nope", "rw", StatusCode.NotFound, "device /dev/nope does not exist")]
    [TestCase("/dev/fuse", "rwx", StatusCode.InvalidArgument, "permissions \"rwx\"")]
    public void Bad_devices_name_the_device(string hostPath, string permissions, StatusCode code, string message)
    {
        var e = Assert.Throws<SpecException>(() => Build(c => c.Devices.Add(new Device
        {
            HostPath = hostPath, ContainerPath = "/dev/x", Permissions = permissions,
        })));
        Assert.That(e!.Code, Is.EqualTo(code));
        Assert.That(e.Message, Does.Contain(message));
    }

    [Test]
    public void User_and_groups_are_merged_sorted()
    {
        var input = ContainerInput(c => c.Linux.SecurityContext.SupplementalGroups.Add([2000, 10])) with
        {
            User = new SpecUser(1000, 1000, [27, 10]),
        };
        var user = ContainerSpec.Build(input)["process"]!["user"]!;
        Assert.Multiple(() =>
        {
            Assert.That((uint?)user["uid"], Is.EqualTo(1000));
            Assert.That((uint?)user["gid"], Is.EqualTo(1000));
            Assert.That(user["additionalGids"]!.AsArray().Select(g => (uint)g!), Is.EqualTo(new uint[] { 10, 27, 1000, 2000 }));
        });
    }

    // add | drop → expected change from the default set ("+X" added, "-X" removed, "=none" empty, "=all" all)
    [TestCase("", "", "")]
    [TestCase("NET_ADMIN", "", "+CAP_NET_ADMIN")]
    [TestCase("cap_sys_admin", "", "+CAP_SYS_ADMIN")]
    [TestCase("", "CHOWN|CAP_KILL", "-CAP_CHOWN|-CAP_KILL")]
    [TestCase("NET_ADMIN", "NET_ADMIN", "")]
    [TestCase("", "ALL", "=none")]
    [TestCase("CHOWN", "ALL", "=none|+CAP_CHOWN")]
    [TestCase("ALL", "", "=all")]
    [TestCase("ALL", "SYS_ADMIN", "=all|-CAP_SYS_ADMIN")]
    [TestCase("all", "", "=all")]
    public void Capabilities_add_and_drop_as_containerd(string add, string drop, string expected)
    {
        static string[] Words(string s) => s.Length == 0 ? [] : s.Split('|');
        var spec = Build(c => c.Linux.SecurityContext.Capabilities = new Capability
        {
            AddCapabilities = { Words(add) }, DropCapabilities = { Words(drop) },
        });
        var want = new List<string>(Capabilities.Default);
        foreach (var step in Words(expected))
        {
            if (step == "=none")
                want.Clear();
            else if (step == "=all")
                want = [.. Capabilities.All];
            else if (step[0] == '+')
                want.Add(step[1..]);
            else
                want.Remove(step[1..]);
        }
        var capabilities = spec["process"]!["capabilities"]!;
        Assert.Multiple(() =>
        {
            Assert.That(Strings(capabilities["bounding"]), Is.EquivalentTo(want));
            Assert.That(Strings(capabilities["effective"]), Is.EquivalentTo(want));
            Assert.That(Strings(capabilities["permitted"]), Is.EquivalentTo(want));
            Assert.That(capabilities["ambient"], Is.Null);
        });
    }

    [Test]
    public void Privileged_gets_every_capability_no_masks_no_seccomp_and_writable_sys()
    {
        var spec = Build(c =>
        {
            c.Linux.SecurityContext.Privileged = true;
            c.Linux.SecurityContext.Seccomp = new SecurityProfile { ProfileType = SecurityProfile.Types.ProfileType.RuntimeDefault };
            c.Linux.SecurityContext.Capabilities = new Capability { DropCapabilities = { "ALL" } };
        }, pod: p => p.Linux.SecurityContext.Privileged = true);
        Assert.Multiple(() =>
        {
            Assert.That(Strings(spec["process"]!["capabilities"]!["bounding"]), Is.EqualTo(Capabilities.All));
            Assert.That(spec["linux"]!["maskedPaths"], Is.Null);
            Assert.That(spec["linux"]!["readonlyPaths"], Is.Null);
            Assert.That(spec["linux"]!["seccomp"], Is.Null);
            Assert.That(spec["process"]!["apparmorProfile"], Is.Null);
            Assert.That(Strings(Mount(spec, "/sys")!["options"]), Does.Contain("rw").And.Not.Contain("ro"));
            Assert.That(Strings(Mount(spec, "/sys/fs/cgroup")!["options"]), Does.Contain("rw").And.Not.Contain("ro"));
        });
    }

    [Test]
    public void A_privileged_container_in_an_unprivileged_pod_is_refused()
    {
        var e = Assert.Throws<SpecException>(() => Build(c => c.Linux.SecurityContext.Privileged = true));
        Assert.That(e!.Code, Is.EqualTo(StatusCode.InvalidArgument));
        Assert.That(e.Message, Does.Contain("privileged").And.Contain("sb1"));
    }

    [Test]
    public void Masked_and_readonly_paths_from_the_security_context_replace_the_defaults()
    {
        var spec = Build(c =>
        {
            c.Linux.SecurityContext.MaskedPaths.Add("/proc/secret");
            c.Linux.SecurityContext.ReadonlyPaths.Add("/proc/ro");
        });
        Assert.Multiple(() =>
        {
            Assert.That(Strings(spec["linux"]!["maskedPaths"]), Is.EqualTo(new[] { "/proc/secret" }));
            Assert.That(Strings(spec["linux"]!["readonlyPaths"]), Is.EqualTo(new[] { "/proc/ro" }));
        });
    }

    [Test]
    public void Resources_map_to_linux_resources_and_swap_follows_the_limit_where_supported()
    {
        void Resources(ContainerConfig c) => c.Linux.Resources = new LinuxContainerResources
        {
            CpuPeriod = 100000, CpuQuota = 50000, CpuShares = 256, MemoryLimitInBytes = 64 << 20, OomScoreAdj = 500,
            CpusetCpus = "0-1", CpusetMems = "0", HugepageLimits = { new HugepageLimit { PageSize = "2MB", Limit = 4 << 20 } },
            Unified = { ["memory.high"] = "1000000" },
        };
        var withSwap = ContainerSpec.Build(ContainerInput(Resources) with { SwapLimitSupported = true });
        var withoutSwap = ContainerSpec.Build(ContainerInput(Resources));
        var resources = withSwap["linux"]!["resources"]!;
        Assert.Multiple(() =>
        {
            Assert.That((long?)resources["cpu"]!["period"], Is.EqualTo(100000));
            Assert.That((long?)resources["cpu"]!["quota"], Is.EqualTo(50000));
            Assert.That((long?)resources["cpu"]!["shares"], Is.EqualTo(256));
            Assert.That((string?)resources["cpu"]!["cpus"], Is.EqualTo("0-1"));
            Assert.That((string?)resources["cpu"]!["mems"], Is.EqualTo("0"));
            Assert.That((long?)resources["memory"]!["limit"], Is.EqualTo(64 << 20));
            Assert.That((long?)resources["memory"]!["swap"], Is.EqualTo(64 << 20));
            Assert.That((string?)resources["hugepageLimits"]![0]!["pageSize"], Is.EqualTo("2MB"));
            Assert.That((ulong?)resources["hugepageLimits"]![0]!["limit"], Is.EqualTo(4ul << 20));
            Assert.That((string?)resources["unified"]!["memory.high"], Is.EqualTo("1000000"));
            Assert.That((int?)withSwap["process"]!["oomScoreAdj"], Is.EqualTo(500));
            Assert.That(withoutSwap["linux"]!["resources"]!["memory"]!["swap"], Is.Null);
        });
    }

    [Test]
    public void An_explicit_swap_limit_wins_and_nothing_set_gives_no_cpu_or_memory()
    {
        var explicitSwap = ContainerSpec.Build(ContainerInput(c => c.Linux.Resources = new LinuxContainerResources
        {
            MemoryLimitInBytes = 64 << 20, MemorySwapLimitInBytes = 128 << 20,
        }) with { SwapLimitSupported = true });
        var empty = Build(c => c.Linux.Resources = new LinuxContainerResources());
        Assert.Multiple(() =>
        {
            Assert.That((long?)explicitSwap["linux"]!["resources"]!["memory"]!["swap"], Is.EqualTo(128 << 20));
            Assert.That(empty["linux"]!["resources"]!["cpu"], Is.Null);
            Assert.That(empty["linux"]!["resources"]!["memory"], Is.Null);
            Assert.That((int?)empty["process"]!["oomScoreAdj"], Is.EqualTo(0));
            Assert.That(Build()["process"]!["oomScoreAdj"], Is.Null);
        });
    }

    [TestCase(-500, null, -500)]
    [TestCase(-500, -100, -100)]
    [TestCase(500, -100, 500)]
    public void The_oom_score_is_the_config_s_raised_to_the_floor(int wanted, int? floor, int expected)
    {
        var input = ContainerInput(c => c.Linux.Resources = new LinuxContainerResources { OomScoreAdj = wanted }) with { OomScoreAdjFloor = floor };
        Assert.That((int?)ContainerSpec.Build(input)["process"]!["oomScoreAdj"], Is.EqualTo(expected));
    }

    [Test]
    public void An_oom_score_outside_the_kernel_range_is_invalid()
    {
        var e = Assert.Throws<SpecException>(() => Build(c => c.Linux.Resources = new LinuxContainerResources { OomScoreAdj = 1001 }));
        Assert.That(e!.Message, Does.Contain("oom_score_adj 1001"));
    }

    // pod network, pod ipc, pod pid, container pid → namespace entries (type=path, "new" for a fresh one)
    [TestCase(NamespaceMode.Pod, NamespaceMode.Pod, NamespaceMode.Pod, NamespaceMode.Pod,
        "pid=/proc/4242/ns/pid,ipc=/proc/4242/ns/ipc,uts=/proc/4242/ns/uts,mount=new,network=/proc/4242/ns/net")]
    [TestCase(NamespaceMode.Pod, NamespaceMode.Pod, NamespaceMode.Pod, NamespaceMode.Container,
        "pid=new,ipc=/proc/4242/ns/ipc,uts=/proc/4242/ns/uts,mount=new,network=/proc/4242/ns/net")]
    [TestCase(NamespaceMode.Pod, NamespaceMode.Pod, NamespaceMode.Pod, NamespaceMode.Node,
        "ipc=/proc/4242/ns/ipc,uts=/proc/4242/ns/uts,mount=new,network=/proc/4242/ns/net")]
    [TestCase(NamespaceMode.Pod, NamespaceMode.Pod, NamespaceMode.Pod, NamespaceMode.Target,
        "pid=/proc/777/ns/pid,ipc=/proc/4242/ns/ipc,uts=/proc/4242/ns/uts,mount=new,network=/proc/4242/ns/net")]
    [TestCase(NamespaceMode.Node, NamespaceMode.Node, NamespaceMode.Node, NamespaceMode.Pod, "mount=new")]
    [TestCase(NamespaceMode.Node, NamespaceMode.Pod, NamespaceMode.Pod, NamespaceMode.Pod,
        "pid=/proc/4242/ns/pid,ipc=/proc/4242/ns/ipc,mount=new")]
    public void Namespaces_join_the_sandbox_s(NamespaceMode network, NamespaceMode ipc, NamespaceMode podPid, NamespaceMode pid, string expected)
    {
        var input = ContainerInput(
            c => c.Linux.SecurityContext.NamespaceOptions = new NamespaceOption
            {
                Network = network, Ipc = ipc, Pid = pid, TargetId = pid == NamespaceMode.Target ? "other" : "",
            },
            p => p.Linux.SecurityContext.NamespaceOptions = new NamespaceOption { Network = network, Ipc = ipc, Pid = podPid })
            with { TargetPid = id => id == "other" ? 777u : throw new SpecException(StatusCode.NotFound, id) };
        var spec = ContainerSpec.Build(input);
        var actual = spec["linux"]!["namespaces"]!.AsArray()
            .Select(n => $"{(string)n!["type"]!}={(string?)n["path"] ?? "new"}");
        Assert.That(string.Join(',', actual), Is.EqualTo(expected));
    }

    [Test]
    public void A_cgroup_namespace_is_added_on_cgroup_v2_unless_privileged()
    {
        var v2 = ContainerSpec.Build(ContainerInput() with { CgroupNamespace = true });
        var privileged = ContainerSpec.Build(ContainerInput(c => c.Linux.SecurityContext.Privileged = true,
            p => p.Linux.SecurityContext.Privileged = true) with { CgroupNamespace = true });
        Assert.Multiple(() =>
        {
            Assert.That(Namespace(v2, "cgroup"), Is.Not.Null);
            Assert.That(Namespace(privileged, "cgroup"), Is.Null);
            Assert.That(Namespace(Build(), "cgroup"), Is.Null);
        });
    }

    [Test]
    public void Target_without_an_id_or_a_lookup_is_refused()
    {
        var noId = Assert.Throws<SpecException>(() => Build(c => c.Linux.SecurityContext.NamespaceOptions.Pid = NamespaceMode.Target));
        var noLookup = Assert.Throws<SpecException>(() => Build(c =>
        {
            c.Linux.SecurityContext.NamespaceOptions.Pid = NamespaceMode.Target;
            c.Linux.SecurityContext.NamespaceOptions.TargetId = "x";
        }));
        Assert.Multiple(() =>
        {
            Assert.That(noId!.Message, Does.Contain("target_id"));
            Assert.That(noLookup!.Code, Is.EqualTo(StatusCode.InvalidArgument));
        });
    }

    [Test]
    public void Annotations_and_sysctls_come_from_the_container_and_the_pod()
    {
        var spec = Build(pod: p => p.Linux.Sysctls.Add("net.core.somaxconn", "1024"));
        var annotations = spec["annotations"]!.AsObject();
        Assert.Multiple(() =>
        {
            Assert.That((string?)annotations["io.kubernetes.cri.container-type"], Is.EqualTo("container"));
            Assert.That((string?)annotations["io.kubernetes.cri.sandbox-id"], Is.EqualTo("sb1"));
            Assert.That((string?)annotations["io.kubernetes.cri.sandbox-name"], Is.EqualTo("web"));
            Assert.That((string?)annotations["io.kubernetes.cri.sandbox-namespace"], Is.EqualTo("default"));
            Assert.That((string?)annotations["io.kubernetes.cri.sandbox-uid"], Is.EqualTo("uid-1"));
            Assert.That((string?)annotations["io.kubernetes.cri.container-name"], Is.EqualTo("app"));
            Assert.That((string?)annotations["io.kubernetes.cri.image-name"], Is.EqualTo("docker.io/library/busybox:latest"));
            Assert.That(annotations.Count, Is.EqualTo(7));
            Assert.That((string?)spec["linux"]!["sysctl"]!["net.core.somaxconn"], Is.EqualTo("1024"));
        });
    }

    [Test]
    public void The_cgroup_parent_rule_is_the_sandbox_s()
    {
        var spec = Build(pod: p => p.Linux.CgroupParent = "/kubepods.slice/kubepods-pod1.slice");
        Assert.That((string?)spec["linux"]!["cgroupsPath"], Is.EqualTo("kubepods-pod1.slice:cri-containerd:c1"));
    }

    [Test]
    public void Seccomp_default_sees_the_final_capabilities()
    {
        var spec = Build(c =>
        {
            c.Linux.SecurityContext.Seccomp = new SecurityProfile { ProfileType = SecurityProfile.Types.ProfileType.RuntimeDefault };
            c.Linux.SecurityContext.Capabilities = new Capability { AddCapabilities = { "SYS_ADMIN" } };
        });
        var names = spec["linux"]!["seccomp"]!["syscalls"]!.AsArray().SelectMany(s => Strings(s!["names"]));
        Assert.That(names, Does.Contain("mount"));
    }

    [Test]
    public void The_json_has_the_oci_shape()
    {
        var spec = Build();
        var text = spec.ToJsonString();
        Assert.Multiple(() =>
        {
            Assert.That((string?)spec["ociVersion"], Is.EqualTo(RuntimeSpec.OciVersion));
            Assert.That(JsonNode.Parse(Encoding.UTF8.GetBytes(text)), Is.Not.Null);
        });
    }
}
