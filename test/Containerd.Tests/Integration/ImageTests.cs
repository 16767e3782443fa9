using System.Diagnostics;
using Containerd.Api.Images;
using Containerd.Daemon.Content;
using Containerd.Shared.Grpc;
using Containerd.Tests.Support;
using Grpc.Core;

namespace Containerd.Tests.Integration;

/// <summary>
/// Images end to end through ctr, against the local registries of <see cref="TestImages"/>:
/// pull (plain lines: ctr's stdout is not a terminal here), list, run, remove, and
/// nothing left behind; the hostile layer refused without touching the host; a
/// missing tag is NotFound; basic auth with --user.
/// </summary>
[TestFixture]
public sealed class ImageTests : DaemonFixture
{
    private TestImages _images = null!;

    [OneTimeSetUp]
    public async Task BuildImagesAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        _images = await TestImages.GetAsync(timeout.Token);
    }

    private Task<(int ExitCode, string Stdout, string Stderr)> CtrAsync(params string[] args) =>
        CtrProcess.RunAsync(Daemon, Client.Namespace, null, closeStdin: false, TimeSpan.FromSeconds(120), args);

    private async Task PullAsync(string reference, params string[] extra)
    {
        var (code, stdout, stderr) = await CtrAsync(["images", "pull", "--plain-http", .. extra, reference]);
        Assert.That(code, Is.EqualTo(0), $"pull {reference}: {stdout}{stderr}\n--- daemon log ---\n{Tail(Daemon.Log)}");
    }

    private string ContentBlobs => Path.Combine(Daemon.RootDir, "content", "blobs", "sha256");

    private string SnapshotDirectories => Path.Combine(Daemon.RootDir, "snapshots", "overlayfs", "snapshots");

    /// <summary>No blob, no snapshot directory, no mount: what a removed image must leave.</summary>
    private void AssertNothingStays(string after)
    {
        var blobs = Directory.Exists(ContentBlobs) ? Directory.GetFiles(ContentBlobs) : [];
        var snapshots = Directory.Exists(SnapshotDirectories) ? Directory.GetFileSystemEntries(SnapshotDirectories) : [];
        Assert.Multiple(() =>
        {
            Assert.That(blobs, Is.Empty, $"content blobs after {after}");
            Assert.That(snapshots, Is.Empty, $"snapshot directories after {after}");
            Assert.That(Leaks.MountsUnder(Daemon.Dir), Is.Empty, $"mounts after {after}");
        });
    }

    [Test]
    public async Task Pull_list_run_and_remove_leave_nothing_behind()
    {
        var reference = _images.Busybox.Reference(_images.Plain);
        var (code, stdout, stderr) = await CtrAsync("images", "pull", "--plain-http", reference);
        Assert.That(code, Is.EqualTo(0), stdout + stderr);
        Assert.Multiple(() =>
        {
            // Not a terminal: plain lines, one per finished blob, no cursor movement.
            Assert.That(stdout, Does.Not.Contain("\x1b["));
            Assert.That(stdout, Does.Contain($"layer {_images.Busybox.Layers[0].Digest}: done"));
            Assert.That(stdout, Does.Contain($"{reference}: {_images.Busybox.ManifestDigest}"));
        });

        var (listCode, list, _) = await CtrAsync("images", "list");
        Assert.That(listCode, Is.EqualTo(0));
        var row = list.Split('\n').Single(l => l.StartsWith(reference + " ", StringComparison.Ordinal));
        Assert.That(row, Does.Contain(_images.Busybox.ManifestDigest).And.Contain("linux/"));

        var (runCode, runOut, runErr) = await CtrAsync("run", "--rm", reference, "img-echo", "echo", "hi");
        Assert.That((runCode, runOut, runErr), Is.EqualTo((0, "hi\n", "")), Tail(Daemon.Log));

        // The image's workdir when --cwd is not given.
        // And a name without its tag is found as the pull normalised it (":latest").
        var (pwdCode, pwdOut, _) = await CtrAsync("run", "--rm", _images.Plain.Reference(_images.Busybox.Name), "img-pwd", "pwd");
        var workdir = _images.Busybox.Config!.WorkingDir is { Length: > 0 } w ? w : "/";
        Assert.That((pwdCode, pwdOut), Is.EqualTo((0, workdir + "\n")));

        var (removeCode, removed, removeErr) = await CtrAsync("images", "remove", reference);
        Assert.That((removeCode, removed, removeErr), Is.EqualTo((0, reference + "\n", "")));
        var (_, after, _) = await CtrAsync("images", "list", "-q");
        Assert.That(after, Is.Empty);
        AssertNothingStays("remove");
    }

    [Test]
    public async Task A_container_keeps_its_snapshot_through_image_removal_and_a_restart()
    {
        var reference = _images.Busybox.Reference(_images.Plain);
        await PullAsync(reference);
        var (runCode, _, runErr) = await CtrAsync("run", "-d", reference, "img-bg", "sh", "-c", "echo kept > /written; sleep 300");
        Assert.That(runCode, Is.EqualTo(0), runErr);
        // The container's layers are in use: removing the image takes its record and blobs, not the snapshots.
        Assert.That((await CtrAsync("images", "remove", reference)).ExitCode, Is.EqualTo(0));
        await Daemon.StopAsync();
        await Daemon.RestartAsync(); // start-up GC runs before serving
        var (execCode, execOut, execErr) = await CtrAsync("tasks", "exec", "img-bg", "cat", "/written");
        Assert.That((execCode, execOut), Is.EqualTo((0, "kept\n")), execErr + Tail(Daemon.Log));

        await CtrAsync("tasks", "kill", "--signal", "9", "img-bg");
        for (var i = 0; i < 100 && (await CtrAsync("tasks", "delete", "img-bg")).ExitCode != 0; i++)
            await Task.Delay(100);
        Assert.That((await CtrAsync("containers", "delete", "img-bg")).ExitCode, Is.EqualTo(0));
        // The layers' last owner is gone: the collection after the delete runs in the background.
        for (var i = 0; i < 50 && Directory.Exists(SnapshotDirectories) && Directory.GetFileSystemEntries(SnapshotDirectories).Length > 0; i++)
            await Task.Delay(100);
        AssertNothingStays("the container's delete");
    }

    [Test]
    public async Task A_multi_platform_index_lists_its_platforms_and_inspects_as_this_machine_s()
    {
        var reference = _images.Multiarch.Reference(_images.Plain);
        await PullAsync(reference);
        var (_, list, _) = await CtrAsync("images", "list");
        var row = list.Split('\n').Single(l => l.StartsWith(reference + " ", StringComparison.Ordinal));
        Assert.That(row, Does.Contain("linux/amd64,linux/arm64").And.Contain("image.index"));

        var (code, inspect, stderr) = await CtrAsync("images", "inspect", reference);
        Assert.That(code, Is.EqualTo(0), stderr);
        using var json = System.Text.Json.JsonDocument.Parse(inspect);
        var root = json.RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(root.GetProperty("target").GetProperty("digest").GetString(), Is.EqualTo(_images.Multiarch.ManifestDigest));
            Assert.That(root.GetProperty("manifest").GetProperty("digest").GetString(), Is.EqualTo(_images.Busybox.ManifestDigest));
            Assert.That(root.GetProperty("platform").GetString(), Is.EqualTo("linux/amd64"));
            Assert.That(root.GetProperty("diffIds")[0].GetString(), Is.EqualTo(_images.Busybox.Layers[0].DiffId));
        });
        await CtrAsync("images", "remove", reference);
        AssertNothingStays("remove");
    }

    [Test]
    public async Task The_images_api_scopes_records_by_namespace_with_containerd_s_errors()
    {
        using var channel = UnixSocketChannel.Create(Daemon.Address);
        var images = new Images.ImagesClient(channel);
        var other = new CallOptions(headers: new Metadata { { "containerd-namespace", Client.Namespace + "-other" } });
        var image = new Image
        {
            Name = "example.test/app:1",
            Labels = { ["a"] = "1" },
            Target = new Containerd.Api.Types.ContentDescriptor
            {
                MediaType = "application/vnd.oci.image.manifest.v1+json", Digest = "sha256:" + new string('e', 64), Size = 10,
            },
        };
        var created = (await images.CreateAsync(new CreateImageRequest { Image = image }, Client.Options())).Image;
        Assert.That(created.CreatedAt, Is.Not.Null);
        var again = Assert.ThrowsAsync<RpcException>(() => images.CreateAsync(new CreateImageRequest { Image = image }, Client.Options()).ResponseAsync);
        Assert.That(again!.StatusCode, Is.EqualTo(StatusCode.AlreadyExists));

        Assert.That((await images.ListAsync(new ListImagesRequest(), other)).Images, Is.Empty, "another namespace sees none");
        var missing = Assert.ThrowsAsync<RpcException>(() => images.GetAsync(new GetImageRequest { Name = image.Name }, other).ResponseAsync);
        Assert.That(missing!.StatusCode, Is.EqualTo(StatusCode.NotFound));

        var update = new Image { Name = image.Name, Labels = { ["b"] = "2" } };
        var updated = (await images.UpdateAsync(new UpdateImageRequest
        {
            Image = update, UpdateMask = new Google.Protobuf.WellKnownTypes.FieldMask { Paths = { "labels.b" } },
        }, Client.Options())).Image;
        Assert.That(updated.Labels, Is.EquivalentTo(new Dictionary<string, string> { ["a"] = "1", ["b"] = "2" }));
        Assert.That(updated.Target.Digest, Is.EqualTo(image.Target.Digest));

        await images.DeleteAsync(new DeleteImageRequest { Name = image.Name }, Client.Options());
        var gone = Assert.ThrowsAsync<RpcException>(() => images.DeleteAsync(new DeleteImageRequest { Name = image.Name }, Client.Options()).ResponseAsync);
        Assert.That(gone!.StatusCode, Is.EqualTo(StatusCode.NotFound));
    }

    [Test]
    public async Task The_layered_image_runs_with_its_whiteout_applied()
    {
        var reference = _images.Layered.Reference(_images.Plain);
        await PullAsync(reference);
        var (code, stdout, stderr) = await CtrAsync("run", "--rm", reference, "img-layers", "sh", "-c",
            $"test ! -e {LayeredImage.Deleted} && test -e {LayeredImage.Kept} && id -u && echo ok");
        Assert.That((code, stdout, stderr), Is.EqualTo((0, "1000\nok\n", "")), Tail(Daemon.Log));
        await CtrAsync("images", "remove", reference);
        AssertNothingStays("remove");
    }

    [Test]
    public async Task A_zstd_layer_image_pulls_unpacks_and_runs()
    {
        var reference = _images.Zstd.Reference(_images.Plain);
        await PullAsync(reference);
        var (code, stdout, stderr) = await CtrAsync("run", "--rm", reference, "img-zstd", "sh", "-c", "test -x /bin/busybox && echo zstd-ok");
        Assert.That((code, stdout, stderr), Is.EqualTo((0, "zstd-ok\n", "")), Tail(Daemon.Log));
        await CtrAsync("images", "remove", reference);
        AssertNothingStays("remove");
    }

    [Test]
    public async Task A_directory_only_a_lower_layer_lists_keeps_its_owner_and_mode()
    {
        var reference = _images.Parents.Reference(_images.Plain);
        await PullAsync(reference);
        var (code, stdout, stderr) = await CtrAsync("run", "--rm", reference, "img-parents", "sh", "-c",
            $"stat -c '%u:%g %a' {ParentsImage.Directory} && cat {ParentsImage.File}");
        Assert.That((code, stdout, stderr), Is.EqualTo((0, $"{ParentsImage.Owner}:{ParentsImage.Owner} {ParentsImage.Mode}\nfile\n", "")), Tail(Daemon.Log));
        await CtrAsync("images", "remove", reference);
        AssertNothingStays("remove");
    }

    [Test]
    public async Task A_blob_half_downloaded_before_a_restart_is_resumed_with_a_range_request()
    {
        var image = _images.Layered;
        var reference = image.Reference(_images.Plain);
        var layer = image.Layers[0];
        var bytes = _images.Layout.ReadBlob(layer.Digest);
        long half = bytes.Length / 2;
        var accessLine = $"\"GET /v2/{image.Name}/blobs/{layer.Digest} HTTP/1.1\" 206 {bytes.Length - half}";

        // What a pull cut off halfway leaves, kept across a restart of the daemon.
        await Daemon.StopAsync();
        await using (var ingest = new ContentStore(Path.Combine(Daemon.RootDir, "content")).TryOpenIngest(layer.Digest, layer.Size)!)
        {
            await ingest.ResumeAsync(CancellationToken.None);
            await ingest.AppendAsync(new MemoryStream(bytes, 0, (int)half), CancellationToken.None);
        }
        await Daemon.RestartAsync();
        var ingestDirectory = Path.Combine(Daemon.RootDir, "content", "ingest", layer.Digest["sha256:".Length..]);
        Assert.That(File.Exists(Path.Combine(ingestDirectory, "data")), "start-up keeps a resumable ingest");
        int before = CountOccurrences(_images.Plain.Log, accessLine);

        await PullAsync(reference);

        Assert.Multiple(() =>
        {
            Assert.That(CountOccurrences(_images.Plain.Log, accessLine), Is.EqualTo(before + 1),
                $"one range request for the second half of {layer.Digest}:\n{Tail(_images.Plain.Log)}");
            var blob = Path.Combine(ContentBlobs, layer.Digest["sha256:".Length..]);
            Assert.That(OciLayout.Sha256(File.ReadAllBytes(blob)), Is.EqualTo(layer.Digest), "the resumed blob verifies");
            Assert.That(Directory.Exists(ingestDirectory), Is.False);
        });
        var (code, stdout, _) = await CtrAsync("run", "--rm", reference, "img-resumed", "cat", LayeredImage.Kept);
        Assert.That((code, stdout), Is.EqualTo((0, "keep\n")), Tail(Daemon.Log));
        await CtrAsync("images", "remove", reference);
        AssertNothingStays("remove");
    }

    private static int CountOccurrences(string text, string what)
    {
        int count = 0;
        for (int i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + what.Length, StringComparison.Ordinal))
            count++;
        return count;
    }

    [Test]
    public async Task A_hostile_layer_is_refused_and_the_host_is_untouched()
    {
        var reference = _images.Hostile.Reference(_images.Plain);
        var (code, stdout, stderr) = await CtrAsync("images", "pull", "--plain-http", reference);
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(1), stdout);
            Assert.That(stderr, Does.Contain("cannot be unpacked").And.Contain("(InvalidArgument)"));
            Assert.That(File.Exists("/abs-file"), Is.False);
            Assert.That(File.Exists("/owned-by-layer"), Is.False);
            Assert.That(Directory.EnumerateFiles(Daemon.Dir, "escape-file", SearchOption.AllDirectories), Is.Empty);
        });
        var (_, list, _) = await CtrAsync("images", "list", "-q");
        Assert.That(list, Is.Empty, "a pull that cannot be unpacked keeps no image");
        AssertNothingStays("the refused pull");
    }

    [Test]
    public async Task An_unknown_tag_is_not_found()
    {
        var (code, _, stderr) = await CtrAsync("images", "pull", "--plain-http", _images.Plain.Reference("busybox:no-such-tag"));
        Assert.That(code, Is.EqualTo(1));
        Assert.That(stderr, Does.Contain("(NotFound)").And.Contain("no-such-tag"));
    }

    [Test]
    public async Task Basic_auth_takes_user_and_password()
    {
        var reference = _images.Busybox.Reference(_images.Auth);
        var (code, _, stderr) = await CtrAsync("images", "pull", "--plain-http", reference);
        Assert.That(code, Is.EqualTo(1));
        Assert.That(stderr, Does.Contain("(Unauthenticated)"));

        await PullAsync(reference, "--user", _images.Auth.Credentials!);
        await CtrAsync("images", "remove", reference);
        AssertNothingStays("remove");
    }
}
