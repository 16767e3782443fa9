using System.Text.RegularExpressions;
using Containerd.Tests.Support;
using Grpc.Core;
using Runtime.V1;

namespace Containerd.Tests.Integration.Cri;

/// <summary>
/// The kubelet's sequence through the CRI on real containers pulled from the test
/// registry: pull, run a pod, create and start containers in it, ExecSync, read the
/// log file, stop and remove everything, remove the image; nothing left behind.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed partial class CriSequenceTests : CriFixture
{
    [Test]
    public async Task VersionAndStatusAnswerAsContainerdDoes()
    {
        var version = await Runtime.VersionAsync(new VersionRequest { Version = "v1" });
        Assert.That(version.RuntimeApiVersion, Is.EqualTo("v1"));
        Assert.That(version.RuntimeName, Is.EqualTo("containerd"));
        var status = await Runtime.StatusAsync(new StatusRequest { Verbose = true });
        var conditions = status.Status.Conditions.ToDictionary(c => c.Type);
        Assert.That(conditions["RuntimeReady"].Status, Is.True);
        Assert.That(conditions["NetworkReady"].Status, Is.True, conditions["NetworkReady"].Message);
    }

    [Test]
    public async Task TheKubeletSequenceRunsAndLeavesNothing()
    {
        var busybox = Images.Busybox.Reference(Images.Plain);
        var pulled = await ImageClient.PullImageAsync(new PullImageRequest { Image = new ImageSpec { Image = busybox } });
        Assert.That(pulled.ImageRef, Is.EqualTo(Images.Busybox.ConfigDigest));
        var imageStatus = await ImageClient.ImageStatusAsync(new ImageStatusRequest { Image = new ImageSpec { Image = busybox } });
        Assert.That(imageStatus.Image.Id, Is.EqualTo(Images.Busybox.ConfigDigest));
        Assert.That(imageStatus.Image.RepoTags, Does.Contain(busybox));
        Assert.That(imageStatus.Image.Size, Is.GreaterThan(0));
        Assert.That((await ImageClient.ListImagesAsync(new ListImagesRequest())).Images.Select(i => i.Id), Does.Contain(pulled.ImageRef));

        var logDirectory = Path.Combine(LogDir, "seq");
        var podConfig = PodConfig("seq", logDirectory);
        var pod = (await Runtime.RunPodSandboxAsync(new RunPodSandboxRequest { Config = podConfig })).PodSandboxId;
        var podStatus = (await Runtime.PodSandboxStatusAsync(new PodSandboxStatusRequest { PodSandboxId = pod })).Status;
        Assert.That(podStatus.State, Is.EqualTo(PodSandboxState.SandboxReady));
        Assert.That(podStatus.Network.Ip, Does.StartWith(SubnetPrefix + "."));
        Assert.That(podStatus.Labels["app"], Is.EqualTo("seq"));

        var containerConfig = new ContainerConfig
        {
            Metadata = new ContainerMetadata { Name = "main" },
            Image = new ImageSpec { Image = busybox },
            // TERM is ignored, so StopContainer must escalate to SIGKILL after its timeout.
            Command = { "sh", "-c", "trap '' TERM; echo hello; echo oops >&2; while true; do sleep 1; done" },
            LogPath = "main/0.log",
            Labels = { ["role"] = "main" },
            // A hostPath volume whose directory does not exist yet: made, as containerd does.
            Mounts = { new Mount { ContainerPath = "/data", HostPath = Path.Combine(CriDir, "hostdata", "seq") } },
        };
        var container = (await Runtime.CreateContainerAsync(new CreateContainerRequest
        {
            PodSandboxId = pod, Config = containerConfig, SandboxConfig = podConfig,
        })).ContainerId;
        Assert.That((await Runtime.ContainerStatusAsync(new ContainerStatusRequest { ContainerId = container })).Status.State,
            Is.EqualTo(ContainerState.ContainerCreated));
        await Runtime.StartContainerAsync(new StartContainerRequest { ContainerId = container });
        var running = (await Runtime.ContainerStatusAsync(new ContainerStatusRequest { ContainerId = container })).Status;
        Assert.That(running.State, Is.EqualTo(ContainerState.ContainerRunning));
        Assert.That(running.LogPath, Is.EqualTo(Path.Combine(logDirectory, "main/0.log")));

        var exec = await Runtime.ExecSyncAsync(new ExecSyncRequest { ContainerId = container, Cmd = { "sh", "-c", "echo out; echo err >&2; exit 3" } });
        Assert.That(exec.ExitCode, Is.EqualTo(3));
        Assert.That(exec.Stdout.ToStringUtf8(), Is.EqualTo("out\n"));
        Assert.That(exec.Stderr.ToStringUtf8(), Is.EqualTo("err\n"));
        var timedOut = Assert.ThrowsAsync<RpcException>(async () =>
            await Runtime.ExecSyncAsync(new ExecSyncRequest { ContainerId = container, Cmd = { "sleep", "30" }, Timeout = 1 }));
        Assert.That(timedOut!.StatusCode, Is.EqualTo(StatusCode.DeadlineExceeded));
        var write = await Runtime.ExecSyncAsync(new ExecSyncRequest { ContainerId = container, Cmd = { "sh", "-c", "echo through > /data/f" } });
        Assert.That(write.ExitCode, Is.EqualTo(0), write.Stderr.ToStringUtf8());
        Assert.That(await File.ReadAllTextAsync(Path.Combine(CriDir, "hostdata", "seq", "f")), Is.EqualTo("through\n"));
        var resolv = await Runtime.ExecSyncAsync(new ExecSyncRequest { ContainerId = container, Cmd = { "cat", "/etc/resolv.conf" } });
        Assert.That(resolv.Stdout.ToStringUtf8(), Does.Contain("nameserver 10.96.0.10"));

        // A second container shares the pod's network namespace: the same address.
        var sidecar = (await Runtime.CreateContainerAsync(new CreateContainerRequest
        {
            PodSandboxId = pod,
            Config = new ContainerConfig
            {
                Metadata = new ContainerMetadata { Name = "sidecar" },
                Image = new ImageSpec { Image = busybox },
                Command = { "sleep", "3600" },
                LogPath = "sidecar/0.log",
            },
            SandboxConfig = podConfig,
        })).ContainerId;
        await Runtime.StartContainerAsync(new StartContainerRequest { ContainerId = sidecar });
        var address = await Runtime.ExecSyncAsync(new ExecSyncRequest { ContainerId = sidecar, Cmd = { "ip", "-4", "addr", "show", "eth0" } });
        Assert.That(address.Stdout.ToStringUtf8(), Does.Contain($"inet {podStatus.Network.Ip}/"), address.Stderr.ToStringUtf8());

        var listed = await Runtime.ListContainersAsync(new ListContainersRequest { Filter = new ContainerFilter { PodSandboxId = pod } });
        Assert.That(listed.Containers.Select(c => c.Id), Is.EquivalentTo(new[] { container, sidecar }));
        var byLabel = await Runtime.ListContainersAsync(new ListContainersRequest { Filter = new ContainerFilter { LabelSelector = { ["role"] = "main" } } });
        Assert.That(byLabel.Containers.Select(c => c.Id), Is.EqualTo(new[] { container }));

        var log = await ReadLogAsync(running.LogPath, "oops");
        Assert.That(log.Any(l => LogLine().Match(l) is { Success: true } m && m.Groups[1].Value == "stdout" && m.Groups[3].Value == "hello"), string.Join("\n", log));
        Assert.That(log.Any(l => LogLine().Match(l) is { Success: true } m && m.Groups[1].Value == "stderr" && m.Groups[3].Value == "oops"), string.Join("\n", log));

        await Runtime.StopContainerAsync(new StopContainerRequest { ContainerId = container, Timeout = 2 });
        var exited = (await Runtime.ContainerStatusAsync(new ContainerStatusRequest { ContainerId = container })).Status;
        Assert.That(exited.State, Is.EqualTo(ContainerState.ContainerExited));
        Assert.That(exited.ExitCode, Is.EqualTo(137), "TERM ignored: killed after the timeout");
        Assert.That(exited.Reason, Is.EqualTo("Error"));
        Assert.That(exited.FinishedAt, Is.GreaterThan(exited.StartedAt));

        await Runtime.RemoveContainerAsync(new RemoveContainerRequest { ContainerId = container });
        await Runtime.StopPodSandboxAsync(new StopPodSandboxRequest { PodSandboxId = pod });
        Assert.That((await Runtime.PodSandboxStatusAsync(new PodSandboxStatusRequest { PodSandboxId = pod })).Status.State,
            Is.EqualTo(PodSandboxState.SandboxNotready));
        Assert.That(NetworkLeftovers(), Is.Empty);
        await Runtime.RemovePodSandboxAsync(new RemovePodSandboxRequest { PodSandboxId = pod });
        Assert.That((await Runtime.ListPodSandboxAsync(new ListPodSandboxRequest())).Items, Is.Empty);
        Assert.That((await Runtime.ListContainersAsync(new ListContainersRequest())).Containers, Is.Empty, "the sidecar went with its pod");

        await ImageClient.RemoveImageAsync(new RemoveImageRequest { Image = new ImageSpec { Image = busybox } });
        Assert.That((await ImageClient.ImageStatusAsync(new ImageStatusRequest { Image = new ImageSpec { Image = busybox } })).Image, Is.Null);
        await Leaks.AssertNoneAsync(Daemon);
        Assert.That(NetworkLeftovers(), Is.Empty);
    }

    [Test]
    public async Task AContainerOverItsMemoryLimitEndsOomKilled()
    {
        var busybox = Images.Busybox.Reference(Images.Plain);
        await ImageClient.PullImageAsync(new PullImageRequest { Image = new ImageSpec { Image = busybox } });
        var podConfig = PodConfig("oom", Path.Combine(LogDir, "oom"));
        var pod = (await Runtime.RunPodSandboxAsync(new RunPodSandboxRequest { Config = podConfig })).PodSandboxId;
        try
        {
            var container = (await Runtime.CreateContainerAsync(new CreateContainerRequest
            {
                PodSandboxId = pod,
                SandboxConfig = podConfig,
                Config = new ContainerConfig
                {
                    Metadata = new ContainerMetadata { Name = "hog" },
                    Image = new ImageSpec { Image = busybox },
                    // busybox dd allocates one buffer of bs bytes: 64 MiB cannot fit in 16.
                    Command = { "dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1" },
                    Linux = new LinuxContainerConfig { Resources = new LinuxContainerResources { MemoryLimitInBytes = 16L << 20 } },
                },
            })).ContainerId;
            await Runtime.StartContainerAsync(new StartContainerRequest { ContainerId = container });
            var status = await WaitForExitAsync(container);
            Assert.That(status.Reason, Is.EqualTo("OOMKilled"));
            Assert.That(status.ExitCode, Is.EqualTo(137));
        }
        finally
        {
            await Runtime.RemovePodSandboxAsync(new RemovePodSandboxRequest { PodSandboxId = pod });
        }
        Assert.That(NetworkLeftovers(), Is.Empty);
    }

    [Test]
    public async Task ADaemonKilledInTheMiddleLosesNothing()
    {
        var busybox = Images.Busybox.Reference(Images.Plain);
        await ImageClient.PullImageAsync(new PullImageRequest { Image = new ImageSpec { Image = busybox } });
        var podConfig = PodConfig("crash", Path.Combine(LogDir, "crash"));
        var pod = (await Runtime.RunPodSandboxAsync(new RunPodSandboxRequest { Config = podConfig })).PodSandboxId;
        try
        {
            var counter = await CreateAndStartAsync(pod, podConfig, busybox, "counter",
                "i=0; while true; do echo line $i; i=$((i+1)); sleep 0.02; done");
            var quitter = await CreateAndStartAsync(pod, podConfig, busybox, "quitter", "sleep 1; exit 7");
            var ip = (await Runtime.PodSandboxStatusAsync(new PodSandboxStatusRequest { PodSandboxId = pod })).Status.Network.Ip;

            await Daemon.KillAsync();
            await Task.Delay(TimeSpan.FromSeconds(1.5));
            await Daemon.RestartAsync(new DaemonStartOptions(Arguments: ["--config", Path.Combine(CriDir, "config.toml")]));

            var podStatus = (await Runtime.PodSandboxStatusAsync(new PodSandboxStatusRequest { PodSandboxId = pod })).Status;
            Assert.That(podStatus.State, Is.EqualTo(PodSandboxState.SandboxReady));
            Assert.That(podStatus.Network.Ip, Is.EqualTo(ip));
            Assert.That((await Runtime.ContainerStatusAsync(new ContainerStatusRequest { ContainerId = counter })).Status.State,
                Is.EqualTo(ContainerState.ContainerRunning));
            var quit = await WaitForExitAsync(quitter);
            Assert.That(quit.ExitCode, Is.EqualTo(7), "the exit that happened while the daemon was down");
            Assert.That(quit.Reason, Is.EqualTo("Error"));
            var exec = await Runtime.ExecSyncAsync(new ExecSyncRequest { ContainerId = counter, Cmd = { "echo", "alive" } });
            Assert.That(exec.Stdout.ToStringUtf8(), Is.EqualTo("alive\n"));

            await Runtime.StopContainerAsync(new StopContainerRequest { ContainerId = counter, Timeout = 0 });
            var path = (await Runtime.ContainerStatusAsync(new ContainerStatusRequest { ContainerId = counter })).Status.LogPath;
            var numbers = (await File.ReadAllLinesAsync(path))
                .Select(l => LogLine().Match(l))
                .Where(m => m.Success && m.Groups[3].Value.StartsWith("line ", StringComparison.Ordinal))
                .Select(m => int.Parse(m.Groups[3].Value[5..]))
                .ToList();
            Assert.That(numbers, Is.EqualTo(Enumerable.Range(0, numbers.Count)), "every line, in order, across the daemon's crash");
            Assert.That(numbers.Count, Is.GreaterThan(50));
        }
        finally
        {
            await Runtime.RemovePodSandboxAsync(new RemovePodSandboxRequest { PodSandboxId = pod });
        }
        Assert.That(NetworkLeftovers(), Is.Empty);
    }

    [Test]
    public async Task StatsResourceUpdatesAndLogRotationWork()
    {
        var busybox = Images.Busybox.Reference(Images.Plain);
        await ImageClient.PullImageAsync(new PullImageRequest { Image = new ImageSpec { Image = busybox } });
        var podConfig = PodConfig("ops", Path.Combine(LogDir, "ops"));
        var pod = (await Runtime.RunPodSandboxAsync(new RunPodSandboxRequest { Config = podConfig })).PodSandboxId;
        string container;
        try
        {
            container = (await Runtime.CreateContainerAsync(new CreateContainerRequest
            {
                PodSandboxId = pod,
                SandboxConfig = podConfig,
                Config = new ContainerConfig
                {
                    Metadata = new ContainerMetadata { Name = "ticker" },
                    Image = new ImageSpec { Image = busybox },
                    Command = { "sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done" },
                    LogPath = "ticker/0.log",
                    Linux = new LinuxContainerConfig { Resources = new LinuxContainerResources { MemoryLimitInBytes = 64L << 20 } },
                },
            })).ContainerId;
            await Runtime.StartContainerAsync(new StartContainerRequest { ContainerId = container });

            var stats = (await Runtime.ContainerStatsAsync(new ContainerStatsRequest { ContainerId = container })).Stats;
            Assert.That(stats.Attributes.Id, Is.EqualTo(container));
            Assert.That(stats.Cpu?.UsageCoreNanoSeconds?.Value, Is.GreaterThan(0UL));
            Assert.That(stats.Memory?.WorkingSetBytes?.Value, Is.GreaterThan(0UL));
            var listed = await Runtime.ListContainerStatsAsync(new ListContainerStatsRequest { Filter = new ContainerStatsFilter { PodSandboxId = pod } });
            Assert.That(listed.Stats.Select(s => s.Attributes.Id), Is.EqualTo(new[] { container }));
            var podStats = (await Runtime.PodSandboxStatsAsync(new PodSandboxStatsRequest { PodSandboxId = pod })).Stats;
            Assert.That(podStats.Linux.Containers.Select(c => c.Attributes.Id), Is.EqualTo(new[] { container }));
            Assert.That(podStats.Linux.Network?.DefaultInterface?.Name, Is.EqualTo("eth0"));

            await Runtime.UpdateContainerResourcesAsync(new UpdateContainerResourcesRequest
            {
                ContainerId = container, Linux = new LinuxContainerResources { MemoryLimitInBytes = 96L << 20 },
            });
            Assert.That(MemoryLimit(container), Is.EqualTo(96L << 20));
            var updated = (await Runtime.ContainerStatusAsync(new ContainerStatusRequest { ContainerId = container })).Status;
            Assert.That(updated.Resources.Linux.MemoryLimitInBytes, Is.EqualTo(96L << 20));

            // Rotation as the kubelet does it: rename, then ReopenContainerLog; later lines go to a new file.
            var log = updated.LogPath;
            await ReadLogAsync(log, "tick 3");
            File.Move(log, log + ".1");
            await Runtime.ReopenContainerLogAsync(new ReopenContainerLogRequest { ContainerId = container });
            var fresh = await ReadLogAsync(log, "", minimumLines: 3);
            Assert.That(fresh.Length, Is.GreaterThanOrEqualTo(3));
            var before = Numbers(await File.ReadAllLinesAsync(log + ".1"));
            var after = Numbers(fresh);
            Assert.That(after[0], Is.EqualTo(before[^1] + 1), "nothing lost or repeated across the rotation");

            await Runtime.StopContainerAsync(new StopContainerRequest { ContainerId = container, Timeout = 0 });
            var reopen = Assert.ThrowsAsync<RpcException>(async () =>
                await Runtime.ReopenContainerLogAsync(new ReopenContainerLogRequest { ContainerId = container }));
            Assert.That(reopen!.StatusCode, Is.EqualTo(StatusCode.FailedPrecondition));
        }
        finally
        {
            await Runtime.RemovePodSandboxAsync(new RemovePodSandboxRequest { PodSandboxId = pod });
        }
        Assert.That(CgroupsOf(container).Concat(CgroupsOf(pod)), Is.Empty, "runc removed the pod's cgroups");
        Assert.That(NetworkLeftovers(), Is.Empty);
    }

    private static long MemoryLimit(string id)
    {
        var v1 = $"/sys/fs/cgroup/memory/k8s.io/{id}/memory.limit_in_bytes";
        var text = File.Exists(v1) ? File.ReadAllText(v1) : File.ReadAllText($"/sys/fs/cgroup/k8s.io/{id}/memory.max");
        return long.Parse(text.Trim());
    }

    private static IEnumerable<string> CgroupsOf(string id) =>
        Directory.GetDirectories("/sys/fs/cgroup").Prepend("/sys/fs/cgroup")
            .Select(d => Path.Combine(d, "k8s.io", id))
            .Where(Directory.Exists);

    private static List<int> Numbers(IEnumerable<string> lines) =>
        [.. lines.Select(l => LogLine().Match(l)).Where(m => m.Success && m.Groups[3].Value.StartsWith("tick ", StringComparison.Ordinal))
            .Select(m => int.Parse(m.Groups[3].Value[5..]))];

    private async Task<string> CreateAndStartAsync(string pod, PodSandboxConfig podConfig, string image, string name, string script)
    {
        var id = (await Runtime.CreateContainerAsync(new CreateContainerRequest
        {
            PodSandboxId = pod,
            SandboxConfig = podConfig,
            Config = new ContainerConfig
            {
                Metadata = new ContainerMetadata { Name = name },
                Image = new ImageSpec { Image = image },
                Command = { "sh", "-c", script },
                LogPath = $"{name}/0.log",
            },
        })).ContainerId;
        await Runtime.StartContainerAsync(new StartContainerRequest { ContainerId = id });
        return id;
    }

    private async Task<ContainerStatus> WaitForExitAsync(string id)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var status = (await Runtime.ContainerStatusAsync(new ContainerStatusRequest { ContainerId = id })).Status;
            if (status.State == ContainerState.ContainerExited || DateTime.UtcNow > deadline)
                return status;
            await Task.Delay(100);
        }
    }

    private static async Task<string[]> ReadLogAsync(string path, string waitFor, int minimumLines = 0)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var lines = File.Exists(path) ? await File.ReadAllLinesAsync(path) : [];
            if ((lines.Any(l => l.EndsWith(waitFor, StringComparison.Ordinal)) && lines.Length >= minimumLines) || DateTime.UtcNow > deadline)
                return lines;
            await Task.Delay(100);
        }
    }

    /// <summary>The CRI log format: RFC 3339 time with nanoseconds, stream, F or P, text.</summary>
    [GeneratedRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z (stdout|stderr) ([FP]) (.*)$")]
    private static partial Regex LogLine();
}
