using System.Diagnostics;
using System.Security.Cryptography;
using Containerd.Api.Content;
using Containerd.Daemon.Content;
using Containerd.Tests.Support;
using Grpc.Core;

namespace Containerd.Tests.Integration;

/// <summary>
/// The content store through the daemon: the Content API (Info, List, Read, Delete)
/// and <c>ctr content</c>. Blobs are put into the running daemon's store with the
/// daemon's own ContentStore (the API has no Write yet); every test uses blobs of
/// its own random bytes, so tests sharing the fixture's store never see each other's.
/// </summary>
[TestFixture]
public sealed class ContentTests : DaemonFixture
{
    private const string Absent = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

    private ContentStore Store => new(Path.Combine(Daemon.RootDir, "content"));

    [Test]
    public async Task Info_list_read_and_delete_a_blob()
    {
        var data = RandomNumberGenerator.GetBytes(3 * 1024 * 1024 + 17); // more than one Read message
        var written = await Store.WriteAsync(new MemoryStream(data), DigestOf(data), data.Length, CancellationToken.None);

        var info = (await Client.Content.InfoAsync(new InfoRequest { Digest = written.Digest }, Client.Options())).Info;
        Assert.That(info.Digest, Is.EqualTo(written.Digest));
        Assert.That(info.Size, Is.EqualTo(data.Length));
        Assert.That(info.CreatedAt.ToDateTime(), Is.EqualTo(written.CreatedAt).Within(TimeSpan.FromMilliseconds(1)));

        Assert.That((await ListAsync()).Select(i => (i.Digest, i.Size)), Does.Contain((written.Digest, (long)data.Length)));

        Assert.That(await ReadAsync(written.Digest, 0, 0), Is.EqualTo(data));
        Assert.That(await ReadAsync(written.Digest, 1_000_000, 2_000_000), Is.EqualTo(data[1_000_000..3_000_000]));
        Assert.That(await ReadAsync(written.Digest, data.Length - 5, 0), Is.EqualTo(data[^5..]));
        Assert.That(await ReadAsync(written.Digest, -3, 4), Is.EqualTo(data[..4]), "an offset below zero reads from the start");
        Assert.That(await ReadAsync(written.Digest, 10, data.Length), Is.EqualTo(data[10..]), "a size past the end reads to the end");
        Assert.That(await ReadAsync(written.Digest, data.Length + 10, 0), Is.Empty, "an offset past the end reads nothing");

        await Client.Content.DeleteAsync(new DeleteContentRequest { Digest = written.Digest }, Client.Options());
        Assert.That((await ListAsync()).Select(i => i.Digest), Does.Not.Contain(written.Digest));
        await AssertStatusAsync(StatusCode.NotFound, written.Digest,
            () => Client.Content.InfoAsync(new InfoRequest { Digest = written.Digest }, Client.Options()).ResponseAsync);
        await AssertStatusAsync(StatusCode.NotFound, written.Digest,
            () => Client.Content.DeleteAsync(new DeleteContentRequest { Digest = written.Digest }, Client.Options()).ResponseAsync);
    }

    [Test]
    public async Task A_missing_blob_is_NotFound_naming_its_digest()
    {
        await AssertStatusAsync(StatusCode.NotFound, Absent,
            () => Client.Content.InfoAsync(new InfoRequest { Digest = Absent }, Client.Options()).ResponseAsync);
        await AssertStatusAsync(StatusCode.NotFound, Absent, () => ReadAsync(Absent, 0, 0));
        await AssertStatusAsync(StatusCode.NotFound, Absent,
            () => Client.Content.DeleteAsync(new DeleteContentRequest { Digest = Absent }, Client.Options()).ResponseAsync);
    }

    [TestCase("sha256:../../meta.db")]
    [TestCase("sha256:ABCDEF0000000000000000000000000000000000000000000000000000000000")]
    [TestCase("sha512:0000000000000000000000000000000000000000000000000000000000000000")]
    [TestCase("sha256:1234")]
    [TestCase("")]
    public async Task A_malformed_digest_is_InvalidArgument_naming_it(string digest)
    {
        await AssertStatusAsync(StatusCode.InvalidArgument, digest,
            () => Client.Content.InfoAsync(new InfoRequest { Digest = digest }, Client.Options()).ResponseAsync);
        await AssertStatusAsync(StatusCode.InvalidArgument, digest, () => ReadAsync(digest, 0, 0));
        await AssertStatusAsync(StatusCode.InvalidArgument, digest,
            () => Client.Content.DeleteAsync(new DeleteContentRequest { Digest = digest }, Client.Options()).ResponseAsync);
        Assert.That(File.Exists(Path.Combine(Daemon.RootDir, "meta.db")), "nothing outside the store was touched");
    }

    [Test]
    public async Task A_call_without_a_namespace_is_refused_as_by_every_service()
    {
        var error = Assert.ThrowsAsync<RpcException>(() => Client.Content.InfoAsync(new InfoRequest { Digest = Absent }).ResponseAsync);
        Assert.That(error!.StatusCode, Is.EqualTo(StatusCode.FailedPrecondition));
        await Task.CompletedTask;
    }

    [Test]
    public async Task Ctr_content_list_and_delete()
    {
        var small = await Store.WriteAsync(new MemoryStream(RandomNumberGenerator.GetBytes(512)), null, null, CancellationToken.None);
        var large = await Store.WriteAsync(new MemoryStream(RandomNumberGenerator.GetBytes(1_234_567)), null, null, CancellationToken.None);

        var (code, stdout, stderr) = await CtrAsync("content", "list");
        Assert.That(code, Is.EqualTo(0), stderr);
        var rows = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split("   ", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
        Assert.That(rows[0], Is.EqualTo(new[] { "DIGEST", "SIZE", "AGE" }));
        Assert.That(rows, Has.Some.EqualTo(new[] { small.Digest, "512B", "Less than a second" })
            .Or.Some.EqualTo(new[] { small.Digest, "512B", "1 second" }));
        Assert.That(rows.Single(r => r[0] == large.Digest)[1], Is.EqualTo("1.235MB"));

        var (quietCode, quiet, _) = await CtrAsync("content", "ls", "-q");
        Assert.That(quietCode, Is.EqualTo(0));
        Assert.That(quiet.Split('\n', StringSplitOptions.RemoveEmptyEntries), Is.SupersetOf(new[] { small.Digest, large.Digest }));
        Assert.That(quiet.Split('\n', StringSplitOptions.RemoveEmptyEntries), Is.All.Match("^sha256:[0-9a-f]{64}$"));

        var (deleteCode, deleted, deleteErr) = await CtrAsync("content", "delete", small.Digest, large.Digest);
        Assert.That((deleteCode, deleted, deleteErr), Is.EqualTo((0, $"{small.Digest}\n{large.Digest}\n", "")));
        Assert.That((await CtrAsync("content", "list", "-q")).Stdout, Does.Not.Contain(small.Digest).And.Not.Contain(large.Digest));

        var (missingCode, _, missingErr) = await CtrAsync("content", "delete", Absent);
        Assert.That(missingCode, Is.EqualTo(1));
        Assert.That(missingErr, Does.Contain(Absent).And.Contain("NotFound"));
        var (badCode, _, badErr) = await CtrAsync("content", "rm", "sha256:../x");
        Assert.That(badCode, Is.EqualTo(1));
        Assert.That(badErr, Does.Contain("sha256:../x").And.Contain("InvalidArgument"));
    }

    [Test]
    public async Task A_restarted_daemon_removes_unfinished_writes_and_keeps_blobs()
    {
        var kept = await Store.WriteAsync(new MemoryStream(RandomNumberGenerator.GetBytes(100)), null, null, CancellationToken.None);
        // What a writer killed mid-write leaves (see ContentStoreTests): part of a blob in ingest/.
        var partial = RandomNumberGenerator.GetBytes(64 * 1024);
        var leftover = Path.Combine(Daemon.RootDir, "content", "ingest", Guid.NewGuid().ToString("N") + ".tmp");
        await File.WriteAllBytesAsync(leftover, partial[..1000]);
        Assert.That((await ListAsync()).Select(i => i.Digest), Does.Not.Contain(DigestOf(partial)));

        await Daemon.StopAsync();
        await Daemon.RestartAsync();
        Client.Dispose();
        await ConnectNamespaceAsync();

        Assert.That(File.Exists(leftover), Is.False, "start-up removed the unfinished write");
        Assert.That((await ListAsync()).Select(i => i.Digest), Does.Contain(kept.Digest));
        Assert.That(await ReadAsync(kept.Digest, 0, 0), Has.Length.EqualTo(100));
        await Client.Content.DeleteAsync(new DeleteContentRequest { Digest = kept.Digest }, Client.Options());
    }

    private async Task<List<Info>> ListAsync()
    {
        using var call = Client.Content.List(new ListContentRequest(), Client.Options());
        var all = new List<Info>();
        await foreach (var response in call.ResponseStream.ReadAllAsync())
            all.AddRange(response.Info);
        return all;
    }

    private async Task<byte[]> ReadAsync(string digest, long offset, long size)
    {
        using var call = Client.Content.Read(new ReadContentRequest { Digest = digest, Offset = offset, Size = size }, Client.Options());
        var data = new MemoryStream();
        var expectedOffset = Math.Max(0, offset);
        await foreach (var response in call.ResponseStream.ReadAllAsync())
        {
            Assert.That(response.Offset, Is.EqualTo(expectedOffset), "each message says where its bytes are");
            response.Data.WriteTo(data);
            expectedOffset += response.Data.Length;
        }
        return data.ToArray();
    }

    private static async Task AssertStatusAsync(StatusCode code, string digest, Func<Task> call)
    {
        var error = Assert.ThrowsAsync<RpcException>(async () => await call());
        Assert.That(error!.StatusCode, Is.EqualTo(code), error.Status.Detail);
        if (digest.Length > 0)
            Assert.That(error.Status.Detail, Does.Contain(digest));
        await Task.CompletedTask;
    }

    private Task<(int ExitCode, string Stdout, string Stderr)> CtrAsync(params string[] args) =>
        CtrProcess.RunAsync(Daemon, Client.Namespace, null, closeStdin: false, TimeSpan.FromSeconds(60), args);

    private static string DigestOf(byte[] data) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(data));
}
