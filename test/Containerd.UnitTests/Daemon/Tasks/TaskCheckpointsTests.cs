using System.Formats.Tar;
using Containerd.Api.Shim;
using Containerd.Daemon.Containers;
using Containerd.Daemon.Content;
using Containerd.Daemon.Shims;
using Containerd.Daemon.Tasks;
using Containerd.Shared.Tasks;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using ExecutionApi = Containerd.Api.Execution;
using Types = Containerd.Api.Types;

namespace Containerd.UnitTests.Daemon.Tasks;

/// <summary>
/// The daemon's half of a checkpoint, with a task whose "runc checkpoint"
/// is scripted: what reaches the store on success (CRIU cannot run on this
/// machine, so this is where the success path is checked), and that a failure
/// leaves the store and the bundle as they were.
/// </summary>
public sealed class TaskCheckpointsTests
{
    private DirectoryInfo _root = null!;
    private ContentStore _store = null!;
    private StateLayout _layout = null!;
    private TaskCheckpoints _checkpoints = null!;
    private string _bundle = null!;

    [SetUp]
    public void SetUp()
    {
        _root = Directory.CreateTempSubdirectory("taskcp");
        _store = new ContentStore(Path.Combine(_root.FullName, "content"));
        _layout = new StateLayout(Path.Combine(_root.FullName, "state"));
        _checkpoints = new TaskCheckpoints(_store, new ContainerLocks(), _layout, NullLogger<TaskCheckpoints>.Instance);
        _bundle = _layout.Bundle("ns", "c1").Directory;
        Directory.CreateDirectory(_bundle);
        File.WriteAllText(Path.Combine(_bundle, "config.json"), """{"ociVersion":"1.0.2"}""");
    }

    [TearDown]
    public void TearDown() => _root.Delete(recursive: true);

    [Test]
    public async Task A_checkpoint_stores_the_image_tar_and_the_spec_and_removes_its_scratch_directory()
    {
        var task = new ScriptedTask(request =>
        {
            File.WriteAllText(Path.Combine(request.ImagePath, "inventory.img"), "inventory");
            File.WriteAllText(Path.Combine(request.ImagePath, "pages-1.img"), "pages");
            File.WriteAllText(Path.Combine(request.WorkPath, "dump.log"), "(00.1) dumped");
        });
        var response = await _checkpoints.CheckpointAsync(
            task, new ExecutionApi.CheckpointRequest { ContainerId = "c1", Exit = true, AllowTcp = true, EmptyNamespaces = { "network" } }, CancellationToken.None);

        Assert.That(response.Descriptors.Select(d => d.MediaType), Is.EqualTo(new[] { CheckpointMediaTypes.CriuTar, CheckpointMediaTypes.Config }));
        Assert.That(_store.List().Select(i => i.Digest), Is.EquivalentTo(response.Descriptors.Select(d => d.Digest)));
        Assert.That(response.Descriptors.Select(d => d.Size), Is.EqualTo(response.Descriptors.Select(d => _store.Info(d.Digest)!.Size)));

        var restored = Path.Combine(_root.FullName, "restored");
        await using (var tar = _store.OpenRead(response.Descriptors[0].Digest))
            await CheckpointArchive.ExtractAsync(tar, restored, CancellationToken.None);
        Assert.That(Directory.EnumerateFiles(restored).Select(Path.GetFileName), Is.EquivalentTo(new[] { "inventory.img", "pages-1.img" }),
            "the image, not CRIU's work directory");
        await using (var config = _store.OpenRead(response.Descriptors[1].Digest))
            Assert.That(await new StreamReader(config).ReadToEndAsync(), Is.EqualTo("""{"ociVersion":"1.0.2"}"""));

        var sent = task.Requests.Single();
        Assert.Multiple(() =>
        {
            Assert.That(sent.Exit && sent.AllowTcp && !sent.AllowUnixSockets, Is.True);
            Assert.That(sent.EmptyNamespaces, Is.EqualTo(new[] { "network" }));
            Assert.That(sent.ParentPath, Is.Empty);
            Assert.That(sent.ImagePath, Does.StartWith(Path.Combine(_bundle, "checkpoint.")));
            Assert.That(Directory.EnumerateFileSystemEntries(_bundle, "checkpoint*"), Is.Empty, "the scratch directory is gone");
        });
    }

    [Test]
    public async Task A_failed_checkpoint_passes_the_error_through_and_stores_nothing()
    {
        var refusal = new RpcException(new Status(StatusCode.FailedPrecondition, "cannot checkpoint task \"c1\": criu failed: vdso"));
        var task = new ScriptedTask(request =>
        {
            File.WriteAllText(Path.Combine(request.ImagePath, "half.img"), "half");
            throw refusal;
        });
        var error = Assert.ThrowsAsync<RpcException>(() =>
            _checkpoints.CheckpointAsync(task, new ExecutionApi.CheckpointRequest { ContainerId = "c1" }, CancellationToken.None))!;
        Assert.That(error, Is.SameAs(refusal));
        Assert.That(_store.List(), Is.Empty);
        Assert.That(Directory.EnumerateFileSystemEntries(_bundle, "checkpoint*"), Is.Empty);
        await Task.CompletedTask;
    }

    [Test]
    public async Task A_parent_checkpoint_is_unpacked_for_runc_and_an_unknown_one_is_not_found()
    {
        using var parentTar = new MemoryStream();
        using (var writer = new TarWriter(parentTar, leaveOpen: true))
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "pages-1.img") { DataStream = new MemoryStream("old"u8.ToArray()) });
        parentTar.Position = 0;
        var parent = await _store.WriteAsync(parentTar, null, null, CancellationToken.None);

        string? seen = null;
        var task = new ScriptedTask(request =>
        {
            seen = File.ReadAllText(Path.Combine(request.ParentPath, "pages-1.img"));
            File.WriteAllText(Path.Combine(request.ImagePath, "inventory.img"), "inventory");
        });
        await _checkpoints.CheckpointAsync(task, new ExecutionApi.CheckpointRequest { ContainerId = "c1", ParentCheckpoint = parent.Digest }, CancellationToken.None);
        Assert.That(seen, Is.EqualTo("old"));

        var unknown = "sha256:" + new string('a', 64);
        var error = Assert.ThrowsAsync<RpcException>(() => _checkpoints.CheckpointAsync(
            task, new ExecutionApi.CheckpointRequest { ContainerId = "c1", ParentCheckpoint = unknown }, CancellationToken.None))!;
        Assert.That(error.StatusCode, Is.EqualTo(StatusCode.NotFound));
        Assert.That(error.Status.Detail, Does.Contain(unknown));
        Assert.That(task.Requests, Has.Count.EqualTo(1), "the shim is not asked");
    }

    [Test]
    public async Task Restorable_checks_media_type_digest_presence_and_a_given_size()
    {
        using var tar = new MemoryStream(new byte[1024]);
        var blob = await _store.WriteAsync(tar, null, null, CancellationToken.None);
        Assert.DoesNotThrow(() => _checkpoints.RequireRestorable(Descriptor(CheckpointMediaTypes.CriuTar, blob.Digest, 0), "c1"), "size 0: unknown");
        Assert.DoesNotThrow(() => _checkpoints.RequireRestorable(Descriptor(CheckpointMediaTypes.CriuTar, blob.Digest, blob.Size), "c1"));
        Assert.Multiple(() =>
        {
            AssertCode(Descriptor(CheckpointMediaTypes.Config, blob.Digest, 0), StatusCode.InvalidArgument);
            AssertCode(Descriptor(CheckpointMediaTypes.CriuTar, "sha256:" + new string('b', 64), 0), StatusCode.NotFound);
            AssertCode(Descriptor(CheckpointMediaTypes.CriuTar, "sha256:XYZ", 0), StatusCode.InvalidArgument);
            AssertCode(Descriptor(CheckpointMediaTypes.CriuTar, blob.Digest, blob.Size + 1), StatusCode.InvalidArgument);
        });
    }

    private void AssertCode(Types.ContentDescriptor descriptor, StatusCode code)
    {
        var error = Assert.Throws<RpcException>(() => _checkpoints.RequireRestorable(descriptor, "c1"))!;
        Assert.That(error.StatusCode, Is.EqualTo(code), error.Status.Detail);
        Assert.That(error.Status.Detail, Does.StartWith("cannot restore task \"c1\""));
    }

    private static Types.ContentDescriptor Descriptor(string mediaType, string digest, long size) =>
        new() { MediaType = mediaType, Digest = digest, Size = size };

    /// <summary>A task whose checkpoint runs a script in place of the shim; nothing else is asked of it.</summary>
    private sealed class ScriptedTask(Action<ShimCheckpointRequest> checkpoint) : ITask
    {
        public List<ShimCheckpointRequest> Requests { get; } = [];

        public string Namespace => "ns";

        public string Id => "c1";

        public uint InitPid => 42;

        public Task<Empty> CheckpointAsync(ShimCheckpointRequest request, CancellationToken cancellationToken)
        {
            Requests.Add(request);
            checkpoint(request);
            return Task.FromResult(new Empty());
        }

        public Task<Types.Task> DescribeAsync(Any? spec, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<Types.Task> DescribeForListAsync(Any? spec, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<Empty> StartAsync(CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<Empty> KillAsync(ExecutionApi.KillRequest request, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<uint> ExecAsync(ExecutionApi.ExecRequest request, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<ExecutionApi.DeleteResponse> DeleteProcessAsync(uint pid, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<Empty> CloseStdinAsync(uint pid, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<Empty> ResizePtyAsync(uint pid, uint width, uint height, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<Empty> ReopenLogAsync(uint pid, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<Empty> UpdateAsync(string linuxResourcesJson, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<Empty> PauseAsync(CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<Empty> ResumeAsync(CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<IReadOnlyList<Types.Process>> ProcessesAsync(CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}
