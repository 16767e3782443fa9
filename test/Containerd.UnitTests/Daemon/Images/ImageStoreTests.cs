using Containerd.Api.Images;
using Containerd.Daemon.Metadata;
using Google.Protobuf.WellKnownTypes;
using ContentDescriptor = Containerd.Api.Types.ContentDescriptor;

namespace Containerd.UnitTests.Daemon.Images;

/// <summary>Image records in meta.db: one set per namespace, beside the container records.</summary>
public sealed class ImageStoreTests
{
    private string _directory = null!;

    [SetUp]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("image-store-").FullName;

    [TearDown]
    public void RemoveDirectory()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    private static Image Image(string name, char digit) => new()
    {
        Name = name,
        Target = new ContentDescriptor { MediaType = "application/vnd.oci.image.manifest.v1+json", Digest = "sha256:" + new string(digit, 64), Size = 42 },
        Labels = { ["k"] = "v" },
        UpdatedAt = Timestamp.FromDateTime(new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc)),
    };

    [Test]
    public async Task Namespaces_have_their_own_images_and_put_moves_a_name_keeping_its_creation()
    {
        var path = Path.Combine(_directory, "meta.db");
        await new ContainerStore(path).InitializeAsync(CancellationToken.None);
        var store = new ImageStore(path);
        await store.InitializeAsync(CancellationToken.None);

        Assert.That(await store.TryInsertAsync("a", Image("r/x:1", '1'), CancellationToken.None), Is.True);
        Assert.That(await store.TryInsertAsync("a", Image("r/x:1", '2'), CancellationToken.None), Is.False);
        Assert.That(await store.TryInsertAsync("b", Image("r/x:1", '3'), CancellationToken.None), Is.True);

        Assert.That((await store.GetAsync("a", "r/x:1", CancellationToken.None))!.Target.Digest, Does.EndWith("1111"));
        Assert.That((await store.GetAsync("b", "r/x:1", CancellationToken.None))!.Target.Digest, Does.EndWith("3333"));
        Assert.That(await store.GetAsync("c", "r/x:1", CancellationToken.None), Is.Null);

        var created = (await store.GetAsync("a", "r/x:1", CancellationToken.None))!.CreatedAt;
        var moved = Image("r/x:1", '4');
        moved.UpdatedAt = Timestamp.FromDateTime(new DateTime(2026, 2, 1, 0, 0, 0, DateTimeKind.Utc));
        await store.PutAsync("a", moved, CancellationToken.None);
        var again = (await store.GetAsync("a", "r/x:1", CancellationToken.None))!;
        Assert.Multiple(() =>
        {
            Assert.That(again.Target.Digest, Does.EndWith("4444"));
            Assert.That(again.CreatedAt, Is.EqualTo(created));
            Assert.That(again.UpdatedAt, Is.EqualTo(moved.UpdatedAt));
            Assert.That(again.Labels["k"], Is.EqualTo("v"));
        });

        Assert.That((await store.ListAllAsync(CancellationToken.None)).Count, Is.EqualTo(2));
        Assert.That(await store.DeleteAsync("a", "r/x:1", CancellationToken.None), Is.True);
        Assert.That(await store.ListAsync("a", CancellationToken.None), Is.Empty);
        Assert.That((await store.ListAsync("b", CancellationToken.None)).Single().Name, Is.EqualTo("r/x:1"));
    }
}
