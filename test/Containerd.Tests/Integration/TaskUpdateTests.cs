using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Containerd.Api.Execution;
using Containerd.Api.Shim;
using Containerd.Daemon.Cri.Specs;
using Containerd.Daemon.Cri.Stats;
using Containerd.Shared.Grpc;
using Containerd.Tests.Support;
using Google.Protobuf;
using Grpc.Core;
using Runtime.V1;
using Task = System.Threading.Tasks.Task;

namespace Containerd.Tests.Integration;

/// <summary>
/// The shim's Update (runc update, behind CRI's UpdateContainerResources) on a
/// real task in a cgroup of the test's own, and the CRI cgroup readers on that
/// cgroup. The daemon has no public Update, so the test calls the shim on its socket
/// as the daemon's LiveTask does.
/// </summary>
[TestFixture]
public sealed class TaskUpdateTests : DaemonFixture
{
    private const long Limit = 32L << 20;
    private const long NewLimit = 48L << 20;
    private const string MemoryRoot = "/sys/fs/cgroup/memory";

    // Busy for a while (CPU time to see), then idle until killed.
    private static readonly string[] Busy = ["sh", "-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; exec sleep 600"];

    private string _cgroup = null!;

    [SetUp]
    public void NameCgroup() => _cgroup = "/cristats-test-" + Guid.NewGuid().ToString("N")[..10];

    [TearDown]
    public void RemoveCgroup()
    {
        // runc removes the container's cgroup with the container; this is for a test that failed half-way.
        foreach (var controller in Directory.GetDirectories("/sys/fs/cgroup"))
        {
            var dir = controller + _cgroup;
            try
            {
                if (Directory.Exists(dir))
                    Directory.Delete(dir);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                TestContext.Out.WriteLine($"cannot remove {dir}: {e.Message}");
            }
        }
    }

    [Test]
    public async Task Update_changes_the_memory_limit_of_a_running_and_a_paused_task_and_the_stats_read_its_cgroup()
    {
        if (new CgroupLocator().IsUnified)
            Assert.Ignore("this test reads cgroup v1 files");
        const string id = "upd";
        await Client.CreateContainerWithSpecAsync(id, Spec(id, Busy));
        await using var events = await Client.SubscribeEventsAsync();
        var pid = (await Client.Tasks.CreateAsync(DaemonClient.CreateTaskRequest(id), Client.Options())).Pid;
        await Client.Tasks.StartAsync(new StartRequest { ContainerId = id }, Client.Options());
        Assert.That(ReadLimit(), Is.EqualTo(Limit), "runc created the task in the test's cgroup with the spec's limit");

        using var channel = ShimChannel(id);
        var shim = new Shim.ShimClient(channel);
        var update = LinuxResourcesJson.ToJson(new LinuxContainerResources { MemoryLimitInBytes = NewLimit });
        await shim.UpdateAsync(new ShimUpdateRequest { Resources = ByteString.CopyFromUtf8(update) }, ShimOptions());
        Assert.That(ReadLimit(), Is.EqualTo(NewLimit));
        if (File.Exists(Path.Combine(MemoryRoot + _cgroup, "memory.memsw.limit_in_bytes")))
            Assert.That(ReadCgroupNumber("memory.memsw.limit_in_bytes"), Is.EqualTo(NewLimit), "no swap beyond the limit, as containerd sets it");

        // The CRI readers on the same cgroup.
        var paths = new CgroupLocator().Locate(_cgroup);
        var sample = await WaitForAsync(() => CgroupStats.Read(paths), s => s.CpuUsageNs > 10_000_000, "10 ms of CPU in the busy loop");
        Assert.That(sample.MemoryUsageBytes, Is.GreaterThan(0));
        Assert.That(sample.WorkingSetBytes, Is.GreaterThan(0).And.LessThanOrEqualTo(sample.MemoryUsageBytes!.Value));
        Assert.That(sample.MemoryLimitBytes, Is.EqualTo((ulong)NewLimit));
        Assert.That(sample.AvailableBytes, Is.EqualTo((ulong)NewLimit - sample.WorkingSetBytes));
        Assert.That(sample.ProcessCount, Is.GreaterThanOrEqualTo(1));
        Assert.That(sample.TimestampNs, Is.EqualTo(CgroupStats.UnixNanoseconds(DateTimeOffset.UtcNow)).Within(60_000_000_000L));

        // A paused task can be updated too (runc updates a frozen cgroup).
        await Client.Tasks.PauseAsync(new PauseRequest { ContainerId = id }, Client.Options());
        await shim.UpdateAsync(new ShimUpdateRequest { Resources = ByteString.CopyFromUtf8("""{"memory":{"limit":41943040,"swap":41943040}}""") }, ShimOptions());
        Assert.That(ReadLimit(), Is.EqualTo(40L << 20));
        await Client.Tasks.ResumeAsync(new ResumeRequest { ContainerId = id }, Client.Options());

        // runc's own words when it refuses.
        var refused = Assert.ThrowsAsync<RpcException>(async () => await shim.UpdateAsync(
            new ShimUpdateRequest { Resources = ByteString.CopyFromUtf8("""{"cpu":{"cpus":"not-a-cpu-list"}}""") }, ShimOptions()))!;
        Assert.That(refused.Status.Detail, Does.StartWith($"cannot update the resources of task \"{id}\": "));
        Assert.That(refused.Status.Detail.Length, Is.GreaterThan($"cannot update the resources of task \"{id}\": ".Length + 5), "runc said why");

        // Not JSON: refused before runc.
        var invalid = Assert.ThrowsAsync<RpcException>(async () => await shim.UpdateAsync(
            new ShimUpdateRequest { Resources = ByteString.CopyFromUtf8("{memory") }, ShimOptions()))!;
        Assert.That(invalid.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
        Assert.That(invalid.Status.Detail, Does.StartWith($"cannot update the resources of task \"{id}\": the resources are not valid JSON"));
        Assert.That(ReadLimit(), Is.EqualTo(40L << 20), "nothing changed");

        // Stopped: FailedPrecondition, and the cgroup stays as it was until the task goes.
        await Client.Tasks.KillAsync(new KillRequest { ContainerId = id, Signal = 9, All = true }, Client.Options());
        await events.WaitForExitAsync(id, pid);
        var stopped = Assert.ThrowsAsync<RpcException>(async () => await shim.UpdateAsync(
            new ShimUpdateRequest { Resources = ByteString.CopyFromUtf8(update) }, ShimOptions()))!;
        Assert.That(stopped.StatusCode, Is.EqualTo(StatusCode.FailedPrecondition));
        Assert.That(stopped.Status.Detail, Is.EqualTo($"task \"{id}\" is not running (it is stopped): cannot update its resources"));

        await Client.RemoveAsync(id);
        Assert.That(Directory.Exists(MemoryRoot + _cgroup), Is.False, "runc removed the cgroup with the task");
        var gone = CgroupStats.Read(paths);
        Assert.That(new ulong?[] { gone.CpuUsageNs, gone.MemoryUsageBytes, gone.WorkingSetBytes, gone.ProcessCount }, Is.All.Null,
            "a cgroup that is gone reads as unknown, not as a failure");
    }

    [Test]
    public async Task A_created_task_can_be_updated_before_it_starts()
    {
        if (new CgroupLocator().IsUnified)
            Assert.Ignore("this test reads cgroup v1 files");
        const string id = "created";
        await Client.CreateContainerWithSpecAsync(id, Spec(id, ["sleep", "600"]));
        await Client.Tasks.CreateAsync(DaemonClient.CreateTaskRequest(id), Client.Options());

        using var channel = ShimChannel(id);
        var shim = new Shim.ShimClient(channel);
        await shim.UpdateAsync(new ShimUpdateRequest { Resources = ByteString.CopyFromUtf8("""{"memory":{"limit":50331648}}""") }, ShimOptions());
        Assert.That(ReadLimit(), Is.EqualTo(NewLimit));

        await Client.RemoveAsync(id);
    }

    private string Spec(string id, string[] args)
    {
        var spec = JsonNode.Parse(OciSpecs.Container(id, args, Limit))!;
        spec["linux"]!["cgroupsPath"] = _cgroup;
        return spec.ToJsonString();
    }

    private long ReadLimit() => ReadCgroupNumber("memory.limit_in_bytes");

    private long ReadCgroupNumber(string file) => long.Parse(File.ReadAllText(Path.Combine(MemoryRoot + _cgroup, file)).Trim());

    /// <summary>A channel to the task's shim socket (as StateLayout names it: in the bundle, or hashed under STATE/s when too long).</summary>
    private Grpc.Net.Client.GrpcChannel ShimChannel(string id)
    {
        var inBundle = Path.Combine(Daemon.StateDir, "tasks", Client.Namespace, id, "shim.sock");
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{Client.Namespace}/{id}")))[..32];
        var socket = File.Exists(inBundle) ? inBundle : Path.Combine(Daemon.StateDir, "s", hash + ".sock");
        return UnixSocketChannel.Create(socket);
    }

    private static CallOptions ShimOptions() => new(deadline: DateTime.UtcNow.AddMinutes(1));

    private static async Task<CgroupSample> WaitForAsync(Func<CgroupSample> read, Func<CgroupSample, bool> done, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var sample = read();
            if (done(sample))
                return sample;
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"waited 30 s for {what}; last sample: {sample}");
            await Task.Delay(100);
        }
    }
}
