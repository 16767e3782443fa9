using System.Diagnostics;
using System.Text.Json.Nodes;
using Containerd.Daemon.Cri.Specs;
using Containerd.Shared.Oci;
using Containerd.Tests.Support;
using Runtime.V1;

namespace Containerd.Tests.Integration;

/// <summary>
/// The CRI spec builders' JSON run by plain <c>runc run</c> (no daemon): a
/// container spec with the default seccomp profile, a memory limit and dropped
/// capabilities, and a sandbox spec with host network. Each test has its own
/// bundle (a copy of the busybox rootfs), runc state root and cgroup parent,
/// and removes all three.
/// </summary>
[TestFixture]
public sealed class CriSpecRuncTests
{
    private string _dir = null!;
    private string _id = null!;
    private string _cgroupParent = null!;

    private string StateRoot => Path.Combine(_dir, "runc");

    private string Bundle => Path.Combine(_dir, "bundle");

    [SetUp]
    public void CreateBundle()
    {
        _dir = Directory.CreateTempSubdirectory("cri-spec-").FullName;
        _id = "crispec-" + Guid.NewGuid().ToString("N")[..12];
        _cgroupParent = "/" + _id + "-pod";
        Directory.CreateDirectory(Bundle);
        Run("cp", "-a", TestPaths.Rootfs, Path.Combine(Bundle, "rootfs")).EnsureSuccess();
    }

    [TearDown]
    public void Remove()
    {
        Run("runc", "--root", StateRoot, "delete", "--force", _id);
        // runc removes the container's cgroups, not the parent it made for them.
        foreach (var controller in Directory.EnumerateDirectories("/sys/fs/cgroup"))
        {
            var parent = controller + _cgroupParent;
            if (Directory.Exists(parent))
                Directory.Delete(parent);
        }
        if (Directory.Exists("/sys/fs/cgroup" + _cgroupParent))
            Directory.Delete("/sys/fs/cgroup" + _cgroupParent);
        Assert.That(File.ReadAllText("/proc/self/mountinfo"), Does.Not.Contain(_dir), "nothing of the bundle stays mounted");
        Directory.Delete(_dir, recursive: true);
    }

    [Test]
    public void A_container_spec_runs_with_seccomp_the_memory_limit_and_the_capabilities_asked_for()
    {
        var config = new ContainerConfig
        {
            Metadata = new ContainerMetadata { Name = "status" },
            Command = { "sh", "-c", "cat /proc/self/status; cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max" },
            Linux = new LinuxContainerConfig
            {
                Resources = new LinuxContainerResources { MemoryLimitInBytes = 64 << 20 },
                SecurityContext = new LinuxContainerSecurityContext
                {
                    Seccomp = new SecurityProfile { ProfileType = SecurityProfile.Types.ProfileType.RuntimeDefault },
                    Capabilities = new Capability { DropCapabilities = { "NET_RAW", "CAP_CHOWN" }, AddCapabilities = { "SYS_PTRACE" } },
                    NamespaceOptions = new NamespaceOption { Pid = NamespaceMode.Container },
                    ReadonlyRootfs = true,
                },
            },
        };
        var input = new ContainerSpecInput(
            _id, "sandbox-" + _id, config, HostPod(), ImageConfig.Empty, "busybox", (uint)Environment.ProcessId,
            SandboxFiles.None, SpecUser.Root, _ => throw new FileNotFoundException());
        var spec = ContainerSpec.Build(input);
        WriteConfig(spec);

        var result = Run("runc", "--root", StateRoot, "run", "--bundle", Bundle, _id);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        var status = result.Stdout.Split('\n');
        var expected = CapabilityMask([.. Capabilities.Default.Where(c => c is not ("CAP_NET_RAW" or "CAP_CHOWN")), "CAP_SYS_PTRACE"]);
        Assert.Multiple(() =>
        {
            Assert.That(status, Does.Contain($"CapEff:\t{expected:x16}"), result.Stdout);
            Assert.That(status, Does.Contain($"CapBnd:\t{expected:x16}"), result.Stdout);
            Assert.That(status, Does.Contain("Seccomp:\t2"), result.Stdout);
            Assert.That(status, Does.Contain("NoNewPrivs:\t0"), result.Stdout);
            Assert.That(status, Does.Contain((64 << 20).ToString(System.Globalization.CultureInfo.InvariantCulture)), "the memory cgroup's limit");
        });
    }

    [Test]
    public void A_sandbox_spec_with_host_network_runs_sleep_with_the_pod_settings()
    {
        var shm = Directory.CreateDirectory(Path.Combine(_dir, "shm")).FullName;
        var resolv = Path.Combine(_dir, "resolv.conf");
        File.WriteAllText(resolv, "nameserver 127.0.0.1\n");
        var pod = HostPod();
        pod.Linux.SecurityContext.NamespaceOptions.Ipc = NamespaceMode.Pod;
        pod.Linux.SecurityContext.NamespaceOptions.Pid = NamespaceMode.Pod;
        pod.Linux.SecurityContext.Seccomp = new SecurityProfile { ProfileType = SecurityProfile.Types.ProfileType.RuntimeDefault };
        var input = new SandboxSpecInput(
            _id, pod, new ImageConfig(["sleep"], ["30"], ["PATH=/bin"], "", ""), new SandboxFiles(null, null, resolv, shm), null, SpecUser.Root)
        {
            // Without CAP_SYS_RESOURCE (as on the test machine) -998 is raised to this process's own score.
            OomScoreAdjFloor = OomScoreFloor.ForThisProcess(),
        };
        var spec = SandboxSpec.Build(input);
        Assert.That(spec["linux"]!["namespaces"]!.AsArray().Select(n => (string)n!["type"]!), Is.EqualTo(new[] { "pid", "ipc", "mount" }));
        WriteConfig(spec);

        // Detached, the container keeps runc's stdio: give it a file, not this test's pipes.
        var log = Path.Combine(_dir, "sandbox.log");
        var started = Run("sh", "-c", "exec runc \"$@\" </dev/null >\"$0\" 2>&1", log,
            "--root", StateRoot, "run", "--detach", "--bundle", Bundle, _id);
        Assert.That(started.ExitCode, Is.EqualTo(0), started + File.ReadAllText(log));
        var state = JsonNode.Parse(Run("runc", "--root", StateRoot, "state", _id).EnsureSuccess().Stdout)!;
        var pid = (int)state["pid"]!;
        var status = File.ReadAllLines($"/proc/{pid}/status");
        Assert.Multiple(() =>
        {
            Assert.That((string?)state["status"], Is.EqualTo("running"));
            Assert.That(File.ReadAllText($"/proc/{pid}/cmdline"), Is.EqualTo("sleep\u000030\u0000"));
            Assert.That(File.ReadAllText($"/proc/{pid}/oom_score_adj").Trim(), Is.EqualTo(OomScoreFloor.Apply(-998, input.OomScoreAdjFloor).ToString(System.Globalization.CultureInfo.InvariantCulture)));
            Assert.That(status, Does.Contain("Seccomp:\t2"));
            Assert.That(status, Does.Contain("NoNewPrivs:\t1"));
            Assert.That(status, Does.Contain($"CapEff:\t{CapabilityMask(Capabilities.Default):x16}"));
            Assert.That(ReadLink($"/proc/{pid}/ns/net"), Is.EqualTo(ReadLink("/proc/self/ns/net")), "host network");
            Assert.That(ReadLink($"/proc/{pid}/ns/ipc"), Is.Not.EqualTo(ReadLink("/proc/self/ns/ipc")), "its own IPC namespace");
            var mounts = File.ReadAllText($"/proc/{pid}/mountinfo");
            Assert.That(mounts, Does.Match(@"(?m)^\d+ \d+ \d+:\d+ \S+ / ro[, ]"), "a read-only root");
            Assert.That(mounts, Does.Contain(" /etc/resolv.conf ro"), "resolv.conf bound read-only");
        });
        Run("runc", "--root", StateRoot, "kill", _id, "KILL").EnsureSuccess();
    }

    /// <summary>A pod on the host's network, IPC and PID namespaces: the container joins nothing by path.</summary>
    private PodSandboxConfig HostPod() => new()
    {
        Metadata = new PodSandboxMetadata { Name = "pod", Namespace = "test", Uid = _id },
        Linux = new LinuxPodSandboxConfig
        {
            CgroupParent = _cgroupParent,
            SecurityContext = new LinuxSandboxSecurityContext
            {
                NamespaceOptions = new NamespaceOption { Network = NamespaceMode.Node, Ipc = NamespaceMode.Node, Pid = NamespaceMode.Node },
            },
        },
    };

    /// <summary>The spec as the daemon writes it, with the rootfs copy beside it.</summary>
    private void WriteConfig(JsonObject spec) => File.WriteAllText(Path.Combine(Bundle, "config.json"), spec.ToJsonString());

    private static ulong CapabilityMask(IEnumerable<string> names) =>
        names.Aggregate(0ul, (mask, name) => mask | (1ul << Capabilities.All.ToList().IndexOf(name)));

    private static string? ReadLink(string path) => new FileInfo(path).LinkTarget;

    private static RunResult Run(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(60_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in 60 s");
        }
        process.WaitForExit();
        return new RunResult($"{file} {string.Join(' ', args)}", process.ExitCode, stdout.Result, stderr.Result);
    }

    private sealed record RunResult(string Command, int ExitCode, string Stdout, string Stderr)
    {
        public RunResult EnsureSuccess() =>
            ExitCode == 0 ? this : throw new InvalidOperationException(ToString());

        public override string ToString() => $"{Command}: exit {ExitCode}\n{Stdout}\n{Stderr}";
    }
}
