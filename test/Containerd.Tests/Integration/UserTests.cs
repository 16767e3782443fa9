using Containerd.Tests.Support;

namespace Containerd.Tests.Integration;

/// <summary>
/// User names through ctr run: the image's USER and --user resolved against the image's own
/// /etc/passwd and /etc/group (read from its layers through the Content API), or against a
/// --rootfs directory's; an unknown name refused before anything is created.
/// </summary>
[TestFixture]
public sealed class UserTests : DaemonFixture
{
    /// <summary>Prints uid, gid and the sorted supplementary groups, one line each.</summary>
    private static readonly string[] Ids = ["sh", "-c", "id -u; id -g; id -G | tr ' ' '\\n' | sort -n | tr '\\n' ' '"];

    private TestImages _images = null!;

    [OneTimeSetUp]
    public async Task BuildImagesAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        _images = await TestImages.GetAsync(timeout.Token);
    }

    private Task<(int ExitCode, string Stdout, string Stderr)> CtrAsync(params string[] args) =>
        CtrProcess.RunAsync(Daemon, Client.Namespace, null, closeStdin: false, TimeSpan.FromSeconds(120), args);

    private async Task<string> PullAsync(TestImage image)
    {
        var reference = image.Reference(_images.Plain);
        var (code, stdout, stderr) = await CtrAsync("images", "pull", "--plain-http", reference);
        Assert.That(code, Is.EqualTo(0), $"pull {reference}: {stdout}{stderr}");
        return reference;
    }

    private async Task RemoveAsync(string reference)
    {
        Assert.That((await CtrAsync("images", "remove", reference)).ExitCode, Is.EqualTo(0));
        var snapshots = Path.Combine(Daemon.RootDir, "snapshots", "overlayfs", "snapshots");
        var blobs = Path.Combine(Daemon.RootDir, "content", "blobs", "sha256");
        Assert.Multiple(() =>
        {
            Assert.That(Directory.Exists(snapshots) ? Directory.GetFileSystemEntries(snapshots) : [], Is.Empty, "snapshots after the image's removal");
            Assert.That(Directory.Exists(blobs) ? Directory.GetFiles(blobs) : [], Is.Empty, "blobs after the image's removal");
            Assert.That(Leaks.MountsUnder(Daemon.Dir), Is.Empty, "mounts");
        });
    }

    private async Task<string> RunAsync(string id, params string[] args)
    {
        var (code, stdout, stderr) = await CtrAsync(["run", "--rm", .. args]);
        Assert.That((code, stderr), Is.EqualTo((0, "")), $"run {id}: {stdout}{stderr}\n{Tail(Daemon.Log)}");
        return stdout;
    }

    [Test]
    public async Task The_image_s_user_name_runs_with_its_passwd_ids_and_group_memberships()
    {
        var reference = await PullAsync(_images.Users);
        var id = await RunAsync("u-id", reference, "u-id", "id");
        Assert.That(id, Does.StartWith("uid=65534(nobody) gid=65534(nogroup)").And.Contain("50(staff)"));
        Assert.That(await RunAsync("u-ids", [reference, "u-ids", .. Ids]), Is.EqualTo("65534\n65534\n50 65534 "));

        // --user by name, a numeric user with a named group, and a numeric pair (which reads no layer).
        Assert.That(await RunAsync("u-app", ["--user", "app", reference, "u-app", .. Ids]), Is.EqualTo("1000\n1000\n50 1000 "));
        Assert.That(await RunAsync("u-0ng", ["--user", "0:nogroup", reference, "u-0ng", .. Ids]), Is.EqualTo("0\n65534\n65534 "));
        Assert.That(await RunAsync("u-num", ["--user", "33:44", reference, "u-num", .. Ids]), Is.EqualTo("33\n44\n44 "));
        await RemoveAsync(reference);
    }

    [Test]
    public async Task A_name_given_with_user_resolves_in_an_image_without_a_user()
    {
        // busybox's own /etc/passwd (scripts/build-rootfs.sh): nobody 65534:65534, group "nobody".
        var reference = await PullAsync(_images.Busybox);
        Assert.That(await RunAsync("u-bb", ["--user", "nobody", reference, "u-bb", .. Ids]), Is.EqualTo("65534\n65534\n65534 "));
        Assert.That(await RunAsync("u-root", ["--user", "root", reference, "u-root", "id", "-u"]), Is.EqualTo("0\n"));
        await RemoveAsync(reference);
    }

    [Test]
    public async Task An_unknown_user_or_group_is_one_line_naming_it_and_creates_nothing()
    {
        var reference = await PullAsync(_images.Users);
        var (code, stdout, stderr) = await CtrAsync("run", "--rm", "--user", "nosuch", reference, "u-none", "true");
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(1), stdout);
            Assert.That(stderr, Is.EqualTo($"ctr: no users found matching \"nosuch\" in /etc/passwd of image {reference}\n"));
        });
        var (groupCode, _, groupErr) = await CtrAsync("run", "-d", "--user", "app:nosuchgroup", reference, "u-nogroup", "true");
        Assert.That((groupCode, groupErr), Is.EqualTo((1, $"ctr: no groups found matching \"nosuchgroup\" in /etc/group of image {reference}\n")));

        var (_, containers, _) = await CtrAsync("containers", "list", "-q");
        Assert.That(containers, Is.Empty, "no container record");
        // Only the image's own snapshots: RemoveAsync then finds none left.
        await RemoveAsync(reference);
    }

    [Test]
    public async Task A_rootfs_run_resolves_names_from_the_directory()
    {
        // id alone, names optional: build-rootfs.sh leaves the directory itself 0700 (mktemp -d), so as nobody
        // nothing in it but the init runc starts can be run or read (sh's pipe to tr, id's look at /etc/passwd).
        Assert.That(await RunAsync("u-dir", "--rootfs", TestPaths.Rootfs, "--user", "nobody", "u-dir", "id"),
            Does.Match(@"^uid=65534(\(nobody\))? gid=65534(\(nobody\))? groups=65534(\(nobody\))?\n$"));
        var (code, _, stderr) = await CtrAsync("run", "--rm", "--rootfs", TestPaths.Rootfs, "--user", "nosuch", "u-dir-none", "true");
        Assert.That((code, stderr), Is.EqualTo((1, $"ctr: no users found matching \"nosuch\" in /etc/passwd of rootfs {Path.GetFullPath(TestPaths.Rootfs)}\n")));
    }
}
