using System.Formats.Tar;
using Containerd.Daemon.Tasks;

namespace Containerd.UnitTests.Daemon.Tasks;

public sealed class CheckpointArchiveTests
{
    private string _root = null!;

    [SetUp]
    public void SetUp() => _root = Directory.CreateTempSubdirectory("cparchive").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_root, recursive: true);

    [Test]
    public async Task A_directory_survives_the_round_trip()
    {
        var image = Directory.CreateDirectory(Path.Combine(_root, "image")).FullName;
        File.WriteAllText(Path.Combine(image, "inventory.img"), "inv");
        Directory.CreateDirectory(Path.Combine(image, "sub"));
        File.WriteAllText(Path.Combine(image, "sub", "pages-1.img"), "pages");
        using var tar = new MemoryStream();
        await CheckpointArchive.CreateAsync(image, tar, CancellationToken.None);
        tar.Position = 0;
        var restored = Path.Combine(_root, "restored");
        await CheckpointArchive.ExtractAsync(tar, restored, CancellationToken.None);
        Assert.That(File.ReadAllText(Path.Combine(restored, "inventory.img")), Is.EqualTo("inv"));
        Assert.That(File.ReadAllText(Path.Combine(restored, "sub", "pages-1.img")), Is.EqualTo("pages"));
    }

    [TestCase("../escaped")]
    [TestCase("a/../../escaped")]
    [TestCase("/etc/escaped")]
    public void Entries_leaving_the_directory_are_refused(string name)
    {
        var tar = Tar(w => w.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream([1]) }));
        var target = Path.Combine(_root, "dir");
        var error = Assert.ThrowsAsync<InvalidDataException>(() => CheckpointArchive.ExtractAsync(tar, target, CancellationToken.None))!;
        Assert.That(error.Message, Does.Contain(name));
        Assert.That(File.Exists(Path.Combine(_root, "escaped")), Is.False);
    }

    [TestCase(TarEntryType.SymbolicLink)]
    [TestCase(TarEntryType.HardLink)]
    [TestCase(TarEntryType.CharacterDevice)]
    [TestCase(TarEntryType.Fifo)]
    public void Anything_but_files_and_directories_is_refused(TarEntryType type)
    {
        var entry = new PaxTarEntry(type, "link");
        if (type is TarEntryType.SymbolicLink or TarEntryType.HardLink)
            entry.LinkName = "/etc/passwd";
        var tar = Tar(w => w.WriteEntry(entry));
        var error = Assert.ThrowsAsync<InvalidDataException>(() => CheckpointArchive.ExtractAsync(tar, Path.Combine(_root, "dir"), CancellationToken.None))!;
        Assert.That(error.Message, Does.Contain("only files and directories"));
    }

    [Test]
    public void Garbage_is_not_a_tar()
    {
        using var garbage = new MemoryStream(Enumerable.Repeat((byte)'x', 1024).ToArray());
        Assert.ThrowsAsync<InvalidDataException>(() => CheckpointArchive.ExtractAsync(garbage, Path.Combine(_root, "dir"), CancellationToken.None));
    }

    private static MemoryStream Tar(Action<TarWriter> write)
    {
        var buffer = new MemoryStream();
        using (var writer = new TarWriter(buffer, TarEntryFormat.Pax, leaveOpen: true))
            write(writer);
        buffer.Position = 0;
        return buffer;
    }
}
