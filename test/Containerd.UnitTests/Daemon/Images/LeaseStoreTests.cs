using Containerd.Daemon.Metadata;

namespace Containerd.UnitTests.Daemon.Images;

/// <summary>Pull leases in meta.db: digests per lease, kept across reopening, released per lease or all at once.</summary>
public sealed class LeaseStoreTests
{
    private string _directory = null!;

    [SetUp]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("lease-store-").FullName;

    [TearDown]
    public void RemoveDirectory()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    private static string D(char c) => "sha256:" + new string(c, 64);

    [Test]
    public async Task Leases_keep_their_digests_until_released()
    {
        var path = Path.Combine(_directory, "meta.db");
        await new ContainerStore(path).InitializeAsync(CancellationToken.None);
        var store = new LeaseStore(path);
        await store.InitializeAsync(CancellationToken.None);

        await store.AddAsync("a", [D('1'), D('2')], CancellationToken.None);
        await store.AddAsync("a", [D('2'), D('3')], CancellationToken.None);
        await store.AddAsync("b", [D('3'), D('4')], CancellationToken.None);

        // What a restarted daemon sees: a new store on the same file.
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        var reopened = new LeaseStore(path);
        await reopened.InitializeAsync(CancellationToken.None);
        Assert.Multiple(async () =>
        {
            Assert.That(await reopened.DigestsAsync("a", CancellationToken.None), Is.EqualTo(new[] { D('1'), D('2'), D('3') }));
            Assert.That(await reopened.DigestsAsync(null, CancellationToken.None), Is.EqualTo(new[] { D('1'), D('2'), D('3'), D('4') }));
        });

        Assert.That(await reopened.ReleaseAsync("a", CancellationToken.None), Is.EqualTo(3));
        Assert.Multiple(async () =>
        {
            Assert.That(await reopened.DigestsAsync("a", CancellationToken.None), Is.Empty);
            Assert.That(await reopened.DigestsAsync(null, CancellationToken.None), Is.EqualTo(new[] { D('3'), D('4') }));
        });
        Assert.That(await reopened.ReleaseAsync(null, CancellationToken.None), Is.EqualTo(2));
        Assert.That(await reopened.DigestsAsync(null, CancellationToken.None), Is.Empty);
    }
}
