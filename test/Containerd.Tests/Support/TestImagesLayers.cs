using System.Formats.Tar;
using System.IO.Compression;
using System.Text;

namespace Containerd.Tests.Support;

/// <summary>
/// Layers written entry by entry, for what umoci never produces: hostile paths and an opaque
/// directory. Every entry has a fixed time and owner, and ustar has no pax atime/ctime, so the digests do not change between runs.
/// </summary>
public static class TestImagesLayers
{
    private static readonly DateTimeOffset Epoch = new(2020, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// The hostile layer, in this order: a file "../../escape-file", a file "/abs-file", a symlink
    /// "evil" -> "/", a file "evil/owned-by-layer" (through that symlink), and a hard link
    /// "hostile-hardlink" to "/etc/hostname". A safe unpack keeps every one of them inside the rootfs
    /// (or refuses the layer); nothing may appear on the host.
    /// </summary>
    public static byte[] HostileTar() => Tar(writer =>
    {
        File(writer, "../../escape-file", "escaped\n");
        File(writer, "/abs-file", "absolute\n");
        writer.WriteEntry(new UstarTarEntry(TarEntryType.SymbolicLink, "evil") { LinkName = "/", ModificationTime = Epoch, Mode = Octal("777") });
        File(writer, "evil/owned-by-layer", "through the symlink\n");
        writer.WriteEntry(new UstarTarEntry(TarEntryType.HardLink, "hostile-hardlink") { LinkName = "/etc/hostname", ModificationTime = Epoch, Mode = Octal("644") });
    });

    /// <summary>The lower opaque layer: opq/old1, opq/old2 and opq/sub/deep, all hidden by the upper one.</summary>
    public static byte[] OpaqueLowerTar() => Tar(writer =>
    {
        Directory(writer, "opq/");
        File(writer, "opq/old1", "old1\n");
        File(writer, "opq/old2", "old2\n");
        Directory(writer, "opq/sub/");
        File(writer, "opq/sub/deep", "deep\n");
    });

    /// <summary>The upper opaque layer: opq/ with the opaque marker opq/.wh..wh..opq and one new file opq/new.</summary>
    public static byte[] OpaqueUpperTar() => Tar(writer =>
    {
        Directory(writer, "opq/");
        writer.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, "opq/.wh..wh..opq") { ModificationTime = Epoch, Mode = 0 });
        File(writer, "opq/new", "new\n");
    });

    /// <summary>The users layer's /etc/passwd: a comment, nobody, and app (uid 1000) that busybox's file lacks.</summary>
    public const string UsersPasswd = """
        # the users test image
        root:x:0:0:root:/root:/bin/sh
        nobody:x:65534:65534:nobody:/nonexistent:/bin/false
        app:x:1000:1000::/home/app:/bin/sh

        """;

    /// <summary>The users layer's /etc/group: nogroup (65534), app (1000), and staff (50) listing app and nobody.</summary>
    public const string UsersGroup = """
        root:x:0:
        nogroup:x:65534:
        app:x:1000:
        staff:x:50:app,nobody

        """;

    /// <summary>The users layer: ./etc/passwd and ./etc/group (names as GNU tar writes them) replacing busybox's.</summary>
    public static byte[] UsersTar() => Tar(writer =>
    {
        Directory(writer, "./etc/");
        File(writer, "./etc/passwd", UsersPasswd);
        File(writer, "./etc/group", UsersGroup);
    });

    /// <summary>The lower parents layer: data/ owned 1000:1000 with mode 0700, and data/a.</summary>
    public static byte[] ParentsLowerTar() => Tar(writer =>
    {
        Directory(writer, "data/", mode: "700", owner: ParentsImage.Owner);
        File(writer, "data/a", "a\n");
    });

    /// <summary>The upper parents layer: only data/file ("file\n"), no entry for data/ itself.</summary>
    public static byte[] ParentsUpperTar() => Tar(writer => File(writer, "data/file", "file\n"));

    public static byte[] Zstd(byte[] tar) => new ZstdSharp.Compressor(3).Wrap(tar).ToArray();

    public static byte[] Gzip(byte[] tar)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
            gzip.Write(tar);
        return output.ToArray();
    }

    public static byte[] Gunzip(byte[] gzipped)
    {
        using var input = new GZipStream(new MemoryStream(gzipped), CompressionMode.Decompress);
        using var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }

    private static byte[] Tar(Action<TarWriter> write)
    {
        using var output = new MemoryStream();
        using (var writer = new TarWriter(output, TarEntryFormat.Ustar, leaveOpen: true))
            write(writer);
        return output.ToArray();
    }

    private static void File(TarWriter writer, string name, string content) =>
        writer.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, name)
        {
            ModificationTime = Epoch,
            Mode = Octal("644"),
            DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)),
        });

    private static void Directory(TarWriter writer, string name, string mode = "755", int owner = 0) =>
        writer.WriteEntry(new UstarTarEntry(TarEntryType.Directory, name) { ModificationTime = Epoch, Mode = Octal(mode), Uid = owner, Gid = owner });

    private static UnixFileMode Octal(string bits) => (UnixFileMode)Convert.ToInt32(bits, 8);
}
