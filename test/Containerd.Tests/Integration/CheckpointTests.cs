using System.Diagnostics;
using System.Formats.Tar;
using Containerd.Api.Execution;
using Containerd.Api.Types;
using Status = Containerd.Api.Types.Status;
using Process = System.Diagnostics.Process;
using Containerd.Tests.Support;
using Grpc.Core;
using Task = System.Threading.Tasks.Task;
using EventType = Containerd.Api.Types.Event.Types.EventType;

namespace Containerd.Tests.Integration;

/// <summary>
/// Tasks.Checkpoint and Create from a checkpoint against real runc and CRIU.
/// CRIU cannot work on this machine's kernel (<c>criu check</c>: "vdso: Failed
/// to fill self vdso symtable"), so what is tested here is everything around
/// it: preconditions, CRIU's reason reaching the client, the task and the
/// content store left as they were. The round trip runs where criu check passes.
/// </summary>
[TestFixture]
public sealed class CheckpointTests : DaemonFixture
{
    private const string CriuTar = "application/vnd.containerd.container.criu.checkpoint.criu.tar";
    private const string ConfigJson = "application/vnd.containerd.container.checkpoint.config.v1+json";
    private static readonly string[] Counter = ["sh", "-c", "i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 0.2; done"];

    private ContentDirectory Content => new(Daemon);

    private string BundleOf(string id) => Path.Combine(Daemon.StateDir, "tasks", Client.Namespace, id);

    [Test]
    public async Task A_failing_checkpoint_carries_crius_reason_and_leaves_the_task_running()
    {
        if (Criu.Works)
            Assert.Ignore("criu check passes here: checkpoints work, see the round trip");
        Assert.That(Criu.Errors, Is.Not.Empty, "criu check failed without an Error line: " + Criu.Output);

        await Client.RunAsync("cp", Counter);
        var stored = Content.List();

        foreach (var exit in new[] { false, true })
        {
            var error = Assert.ThrowsAsync<RpcException>(async () =>
                await Client.Tasks.CheckpointAsync(new CheckpointRequest { ContainerId = "cp", Exit = exit }, Client.Options()))!;
            Assert.Multiple(() =>
            {
                // CRIU refused: a condition of the host (or container), not a fault of ours.
                Assert.That(error.StatusCode, Is.EqualTo(StatusCode.FailedPrecondition), error.Status.Detail);
                Assert.That(error.Status.Detail, Does.Contain("task \"cp\""));
                Assert.That(error.Status.Detail, Does.Contain("criu failed"), "runc's words");
                Assert.That(Criu.Errors.Any(line => error.Status.Detail.Contains(line, StringComparison.Ordinal)),
                    $"CRIU's own reason (one of: {string.Join(" | ", Criu.Errors)}) in: {error.Status.Detail}");
            });

            var info = await Client.Tasks.InfoAsync(new InfoRequest { ContainerId = "cp" }, Client.Options());
            Assert.That(info.Task.Status, Is.EqualTo(Status.Running), $"exit={exit}: the task is left as it was");
            await using var events = await Client.SubscribeEventsAsync();
            var exec = await Client.ExecAsync("cp", ["true"]);
            Assert.That((await events.WaitForExitAsync("cp", exec.Pid)).ExitStatus, Is.EqualTo(0u), "exec works");
            await Client.Tasks.DeleteProcessAsync(new DeleteProcessRequest { ContainerId = "cp", Pid = exec.Pid }, Client.Options());
            Assert.That(Content.List(), Is.EqualTo(stored), "nothing was added to the content store");
            Assert.That(Directory.EnumerateFileSystemEntries(BundleOf("cp"), "checkpoint*"), Is.Empty, "no scratch directory left");
        }
        await Client.RemoveAsync("cp");
    }

    [Test]
    public async Task Only_a_running_or_paused_task_can_be_checkpointed()
    {
        await Client.CreateTaskAsync("created", ["sleep", "60"]);
        var error = Assert.ThrowsAsync<RpcException>(async () =>
            await Client.Tasks.CheckpointAsync(new CheckpointRequest { ContainerId = "created" }, Client.Options()))!;
        Assert.That(error.StatusCode, Is.EqualTo(StatusCode.FailedPrecondition));
        Assert.That(error.Status.Detail, Does.Contain("task \"created\"").And.Contain("created"));
        Assert.That(Directory.EnumerateFileSystemEntries(BundleOf("created"), "checkpoint*"), Is.Empty);
        await Client.RemoveAsync("created");

        await using var events = await Client.SubscribeEventsAsync();
        var pid = await Client.RunAsync("stopped", ["true"]);
        await events.WaitForExitAsync("stopped", pid);
        error = Assert.ThrowsAsync<RpcException>(async () =>
            await Client.Tasks.CheckpointAsync(new CheckpointRequest { ContainerId = "stopped" }, Client.Options()))!;
        Assert.That(error.StatusCode, Is.EqualTo(StatusCode.FailedPrecondition));
        Assert.That(error.Status.Detail, Does.Contain("task \"stopped\"").And.Contain("stopped"));
        await Client.RemoveAsync("stopped");

        error = Assert.ThrowsAsync<RpcException>(async () =>
            await Client.Tasks.CheckpointAsync(new CheckpointRequest { ContainerId = "nosuch" }, Client.Options()))!;
        Assert.That(error.StatusCode, Is.EqualTo(StatusCode.NotFound));
    }

    [Test]
    public async Task An_unknown_parent_checkpoint_is_not_found_and_a_malformed_one_invalid()
    {
        await Client.RunAsync("parent", ["sleep", "60"]);
        var error = Assert.ThrowsAsync<RpcException>(async () => await Client.Tasks.CheckpointAsync(
            new CheckpointRequest { ContainerId = "parent", ParentCheckpoint = "sha256:" + new string('0', 64) }, Client.Options()))!;
        Assert.That(error.StatusCode, Is.EqualTo(StatusCode.NotFound), error.Status.Detail);
        error = Assert.ThrowsAsync<RpcException>(async () => await Client.Tasks.CheckpointAsync(
            new CheckpointRequest { ContainerId = "parent", ParentCheckpoint = "sha256:nothex" }, Client.Options()))!;
        Assert.That(error.StatusCode, Is.EqualTo(StatusCode.InvalidArgument), error.Status.Detail);
        await Client.RemoveAsync("parent");
    }

    [Test]
    public async Task Create_with_a_bad_checkpoint_fails_and_leaves_nothing()
    {
        await Client.CreateContainerAsync("bad", "sleep", "60");
        var stored = Content.List();
        var digest = Content.Put(Tar(("inventory.img", "x"u8.ToArray())));
        var cases = new (ContentDescriptor Checkpoint, StatusCode Code, string Words)[]
        {
            (new ContentDescriptor { MediaType = "application/vnd.oci.image.layer.v1.tar", Digest = digest }, StatusCode.InvalidArgument, "application/vnd.oci.image.layer.v1.tar"),
            (new ContentDescriptor { MediaType = ConfigJson, Digest = digest }, StatusCode.InvalidArgument, ConfigJson),
            (new ContentDescriptor { MediaType = CriuTar, Digest = "sha256:" + new string('1', 64) }, StatusCode.NotFound, "not found"),
            (new ContentDescriptor { MediaType = CriuTar, Digest = "md5:abc" }, StatusCode.InvalidArgument, "md5:abc"),
            (new ContentDescriptor { MediaType = CriuTar, Digest = digest, Size = 1 }, StatusCode.InvalidArgument, "size"),
        };
        try
        {
            foreach (var (checkpoint, code, words) in cases)
            {
                var request = DaemonClient.CreateTaskRequest("bad");
                request.Checkpoint = checkpoint;
                var error = Assert.ThrowsAsync<RpcException>(async () => await Client.Tasks.CreateAsync(request, Client.Options()))!;
                Assert.That(error.StatusCode, Is.EqualTo(code), $"{checkpoint}: {error.Status.Detail}");
                Assert.That(error.Status.Detail, Does.Contain(words).And.Contain("task \"bad\""));
                Assert.That(Directory.Exists(BundleOf("bad")), Is.False, "no bundle");
                Assert.That(Leaks.Find(Daemon, Client.Namespace), Is.Empty);
            }
        }
        finally
        {
            Content.Remove(digest);
        }
        Assert.That(Content.List(), Is.EqualTo(stored));
        await Client.RemoveAsync("bad");
    }

    [Test]
    public async Task A_checkpoint_whose_entries_leave_its_directory_is_refused()
    {
        await Client.CreateContainerAsync("evil", "sleep", "60");
        var digest = Content.Put(Tar(("../../escaped", "x"u8.ToArray())));
        try
        {
            var request = DaemonClient.CreateTaskRequest("evil");
            request.Checkpoint = new ContentDescriptor { MediaType = CriuTar, Digest = digest };
            var error = Assert.ThrowsAsync<RpcException>(async () => await Client.Tasks.CreateAsync(request, Client.Options()))!;
            Assert.That(error.StatusCode, Is.EqualTo(StatusCode.InvalidArgument), error.Status.Detail);
            Assert.That(error.Status.Detail, Does.Contain("leaves the checkpoint directory"));
            Assert.That(File.Exists(Path.Combine(BundleOf("evil"), "..", "escaped")), Is.False);
            Assert.That(Directory.Exists(BundleOf("evil")), Is.False, "no bundle");
        }
        finally
        {
            Content.Remove(digest);
        }
        await Client.RemoveAsync("evil");
    }

    [Test]
    public async Task A_restore_crius_refuses_carries_crius_reason_and_delete_leaves_nothing()
    {
        if (Criu.Works)
            Assert.Ignore("criu check passes here: this image would be judged on its contents, not on the kernel");
        await Client.CreateContainerAsync("rs", Counter);
        // runc reads descriptors.json (the stdio it recorded at the dump) before it calls CRIU.
        var digest = Content.Put(Tar(
            ("descriptors.json", "[\"/dev/null\",\"/dev/null\",\"/dev/null\"]"u8.ToArray()),
            ("inventory.img", "not really an image"u8.ToArray())));
        try
        {
            await using var events = await Client.SubscribeEventsAsync();
            var request = DaemonClient.CreateTaskRequest("rs");
            request.Checkpoint = new ContentDescriptor { MediaType = CriuTar, Digest = digest };
            var created = await Client.Tasks.CreateAsync(request, Client.Options());
            Assert.That(created.Pid, Is.EqualTo(0u), "no process before the restore");
            var info = await Client.Tasks.InfoAsync(new InfoRequest { ContainerId = "rs" }, Client.Options());
            Assert.That(info.Task.Status, Is.EqualTo(Status.Created));
            Assert.That(File.Exists(Path.Combine(BundleOf("rs"), "restore-image", "inventory.img")), "unpacked into the bundle");

            var error = Assert.ThrowsAsync<RpcException>(async () =>
                await Client.Tasks.StartAsync(new StartRequest { ContainerId = "rs" }, Client.Options()))!;
            Assert.Multiple(() =>
            {
                Assert.That(error.StatusCode, Is.EqualTo(StatusCode.FailedPrecondition), error.Status.Detail);
                Assert.That(error.Status.Detail, Does.Contain("cannot restore task \"rs\"").And.Contain("criu failed"));
                Assert.That(Criu.Errors.Any(line => error.Status.Detail.Contains(line, StringComparison.Ordinal)),
                    $"CRIU's own reason (one of: {string.Join(" | ", Criu.Errors)}) in: {error.Status.Detail}");
            });
            Assert.That(Directory.Exists(Path.Combine(BundleOf("rs"), "restore-work")), Is.False, "CRIU's work directory is removed");

            // A second try is refused clearly (runc consumed the process's stdio).
            error = Assert.ThrowsAsync<RpcException>(async () =>
                await Client.Tasks.StartAsync(new StartRequest { ContainerId = "rs" }, Client.Options()))!;
            Assert.That(error.StatusCode, Is.EqualTo(StatusCode.FailedPrecondition));
            Assert.That(error.Status.Detail, Does.Contain("restore failed"));
            error = Assert.ThrowsAsync<RpcException>(async () =>
                await Client.Tasks.KillAsync(new KillRequest { ContainerId = "rs", Signal = 9 }, Client.Options()))!;
            Assert.That(error.StatusCode, Is.EqualTo(StatusCode.FailedPrecondition), error.Status.Detail);

            var deleted = await Client.Tasks.DeleteAsync(new DeleteRequest { ContainerId = "rs" }, Client.Options());
            Assert.That(deleted.ExitStatus, Is.EqualTo(137u), "deleted before it ever ran: as a created task killed at delete");
            await events.WaitForExitAsync("rs", 0);
            Assert.That(events.Sequence("rs"), Is.EqualTo(new[] { (EventType.Create, "rs", 0u), (EventType.Exit, "rs", 0u) }));
        }
        finally
        {
            Content.Remove(digest);
            await DeleteQuietlyAsync("rs");
        }
        await Client.RemoveAsync("rs");
    }

    [Test]
    public async Task A_task_created_from_a_checkpoint_survives_a_killed_daemon()
    {
        if (Criu.Works)
            Assert.Ignore("criu check passes here");
        await Client.CreateContainerAsync("rsr", Counter);
        var digest = Content.Put(Tar(
            ("descriptors.json", "[\"/dev/null\",\"/dev/null\",\"/dev/null\"]"u8.ToArray()),
            ("inventory.img", "not really an image"u8.ToArray())));
        try
        {
            var request = DaemonClient.CreateTaskRequest("rsr");
            request.Checkpoint = new ContentDescriptor { MediaType = CriuTar, Digest = digest };
            await Client.Tasks.CreateAsync(request, Client.Options());

            await Daemon.KillAsync();
            await Daemon.RestartAsync();
            using var client = Daemon.Connect(Client.Namespace);
            var info = await client.Tasks.InfoAsync(new InfoRequest { ContainerId = "rsr" }, client.Options());
            Assert.That((info.Task.Status, info.Task.Pid), Is.EqualTo((Status.Created, 0u)), "re-attached, still waiting for its restore");

            var error = Assert.ThrowsAsync<RpcException>(async () =>
                await client.Tasks.StartAsync(new StartRequest { ContainerId = "rsr" }, client.Options()))!;
            Assert.That(error.Status.Detail, Does.Contain("cannot restore task \"rsr\"").And.Contain("criu failed"));
            await using var events = await client.SubscribeEventsAsync();
            var deleted = await client.Tasks.DeleteAsync(new DeleteRequest { ContainerId = "rsr" }, client.Options());
            Assert.That(deleted.ExitStatus, Is.EqualTo(137u));
            await events.WaitForExitAsync("rsr", 0);
            await client.RemoveAsync("rsr");
        }
        finally
        {
            Content.Remove(digest);
            if (Daemon.ExitCode is null)
                await DeleteQuietlyAsync("rsr");
        }
    }

    [Test]
    public async Task Ctr_tasks_checkpoint_reports_crius_reason()
    {
        if (Criu.Works)
            Assert.Ignore("criu check passes here");
        await Client.RunAsync("ctrcp", ["sleep", "60"]);
        var (code, stdout, stderr) = await CtrAsync("tasks", "checkpoint", "--exit", "ctrcp");
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.Not.EqualTo(0));
            Assert.That(stdout, Is.Empty);
            Assert.That(stderr, Does.StartWith("ctr: ").And.Contain("criu failed"));
            Assert.That(Criu.Errors.Any(line => stderr.Contains(line, StringComparison.Ordinal)), stderr);
        });
        var (_, list, _) = await CtrAsync("tasks", "list");
        Assert.That(list, Does.Contain("RUNNING"));
        await Client.RemoveAsync("ctrcp");
    }

    [Test]
    public async Task A_paused_task_reaches_criu_too_and_stays_paused()
    {
        if (Criu.Works)
            Assert.Ignore("criu check passes here");
        await Client.RunAsync("paused", ["sleep", "60"]);
        await Client.Tasks.PauseAsync(new PauseRequest { ContainerId = "paused" }, Client.Options());
        var error = Assert.ThrowsAsync<RpcException>(async () =>
            await Client.Tasks.CheckpointAsync(new CheckpointRequest { ContainerId = "paused" }, Client.Options()))!;
        Assert.That(error.StatusCode, Is.EqualTo(StatusCode.FailedPrecondition));
        Assert.That(error.Status.Detail, Does.Contain("criu failed"), "allowed for a paused task (as containerd); CRIU refused");
        var info = await Client.Tasks.InfoAsync(new InfoRequest { ContainerId = "paused" }, Client.Options());
        Assert.That(info.Task.Status, Is.EqualTo(Status.Paused));
        await Client.Tasks.ResumeAsync(new ResumeRequest { ContainerId = "paused" }, Client.Options());
        await Client.RemoveAsync("paused");
    }

    [Test]
    public async Task Ctr_run_checkpoint_reports_crius_reason_and_rm_leaves_nothing()
    {
        if (Criu.Works)
            Assert.Ignore("criu check passes here");
        var digest = Content.Put(Tar(
            ("descriptors.json", "[\"/dev/null\",\"/dev/null\",\"/dev/null\"]"u8.ToArray()),
            ("inventory.img", "not really an image"u8.ToArray())));
        try
        {
            var (code, stdout, stderr) = await CtrAsync("run", "--rm", "--checkpoint", digest, "--rootfs", TestPaths.Rootfs, "ctrrs", "sh");
            Assert.Multiple(() =>
            {
                Assert.That(code, Is.Not.EqualTo(0));
                Assert.That(stdout, Is.Empty);
                Assert.That(stderr, Does.Contain("cannot restore task \"ctrrs\"").And.Contain("criu failed"));
                Assert.That(Criu.Errors.Any(line => stderr.Contains(line, StringComparison.Ordinal)), stderr);
            });
            var (_, containers, _) = await CtrAsync("containers", "list");
            Assert.That(containers, Does.Not.Contain("ctrrs"), "--rm removed the container");
            (code, _, stderr) = await CtrAsync("run", "--rm", "--checkpoint", "sha256:" + new string('2', 64), "--rootfs", TestPaths.Rootfs, "ctrrs", "sh");
            Assert.That(code, Is.Not.EqualTo(0));
            Assert.That(stderr, Does.Contain("not found"));
        }
        finally
        {
            Content.Remove(digest);
        }
    }

    [Test]
    public async Task Round_trip_checkpoint_with_exit_then_restore_continues_the_counter()
    {
        if (!Criu.Works)
            Assert.Ignore($"CRIU cannot checkpoint on this machine; criu check says: {string.Join(" ", Criu.Errors.DefaultIfEmpty(Criu.Output))}");

        await using var events = await Client.SubscribeEventsAsync();
        var pid = await Client.RunAsync("trip", Counter);
        await Task.Delay(1500);
        var checkpoint = await Client.Tasks.CheckpointAsync(new CheckpointRequest { ContainerId = "trip", Exit = true }, Client.Options());
        Assert.That(checkpoint.Descriptors.Select(d => d.MediaType), Is.EqualTo(new[] { CriuTar, ConfigJson }));
        Assert.That(checkpoint.Descriptors.All(d => d.Size > 0 && Content.List().Contains(d.Digest)));
        await events.WaitForExitAsync("trip", pid);
        var before = int.Parse(await ReadCountAsync("trip", fromExec: false));
        await Client.Tasks.DeleteAsync(new DeleteRequest { ContainerId = "trip" }, Client.Options());

        var request = DaemonClient.CreateTaskRequest("trip");
        request.Checkpoint = checkpoint.Descriptors[0];
        await Client.Tasks.CreateAsync(request, Client.Options());
        await Client.Tasks.StartAsync(new StartRequest { ContainerId = "trip" }, Client.Options());
        var info = await Client.Tasks.InfoAsync(new InfoRequest { ContainerId = "trip" }, Client.Options());
        Assert.That(info.Task.Status, Is.EqualTo(Status.Running));
        Assert.That(info.Task.Pid, Is.Not.EqualTo(0u));
        await Task.Delay(1000);
        var after = int.Parse(await ReadCountAsync("trip", fromExec: true));
        Assert.That(after, Is.GreaterThan(before), "the counter went on from where it was");
        foreach (var descriptor in checkpoint.Descriptors)
            Content.Remove(descriptor.Digest);
        await Client.RemoveAsync("trip");
    }

    /// <summary>A failed test must not leave its task for the next: a task not yet restored cannot be killed, only deleted.</summary>
    private async Task DeleteQuietlyAsync(string id)
    {
        try
        {
            await Client.Tasks.DeleteAsync(new DeleteRequest { ContainerId = id }, Client.Options());
        }
        catch (RpcException)
        {
        }
    }

    private async Task<string> ReadCountAsync(string id, bool fromExec)
    {
        if (!fromExec)
            return (await File.ReadAllTextAsync(Path.Combine(TestPaths.Rootfs, "tmp", "count"))).Trim();
        await using var events = await Client.SubscribeEventsAsync();
        var output = Path.Combine(Daemon.Dir, $"count-{Guid.NewGuid():N}");
        File.WriteAllText(output, "");
        var exec = await Client.ExecAsync(id, ["cat", "/tmp/count"], stdout: output);
        await events.WaitForExitAsync(id, exec.Pid);
        await Client.Tasks.DeleteProcessAsync(new DeleteProcessRequest { ContainerId = id, Pid = exec.Pid }, Client.Options());
        var text = (await File.ReadAllTextAsync(output)).Trim();
        File.Delete(output);
        return text;
    }

    private static byte[] Tar(params (string Name, byte[] Data)[] files)
    {
        using var buffer = new MemoryStream();
        using (var writer = new TarWriter(buffer, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (name, data) in files)
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data) });
        }
        return buffer.ToArray();
    }

    private Task<(int ExitCode, string Stdout, string Stderr)> CtrAsync(params string[] args) =>
        CtrProcess.RunAsync(Daemon, Client.Namespace, null, closeStdin: false, TimeSpan.FromSeconds(60), args);
}
