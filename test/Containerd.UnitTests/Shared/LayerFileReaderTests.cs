using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using Containerd.Shared.Images;

namespace Containerd.UnitTests.Shared;

/// <summary>Files read out of layer tars as the merged rootfs shows them: order, whiteouts, opaque directories, links, formats, limits.</summary>
public sealed class LayerFileReaderTests
{
    private const string Passwd = "etc/passwd";
    private const string Group = "etc/group";

    private sealed record Layer(BlobRef Ref, byte[] Blob);

    private static Layer Tar(Action<TarWriter> write, bool gzip = true, string? mediaType = null)
    {
        using var output = new MemoryStream();
        using (var writer = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true))
            write(writer);
        var bytes = output.ToArray();
        if (gzip)
        {
            using var compressed = new MemoryStream();
            using (var stream = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
                stream.Write(bytes);
            bytes = compressed.ToArray();
        }
        var digest = "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));
        // The media type is deliberately not trusted: the tests give the wrong one at times.
        return new Layer(new BlobRef(mediaType ?? "application/vnd.oci.image.layer.v1.tar+gzip", digest, bytes.Length), bytes);
    }

    private static void File(TarWriter writer, string name, string content) =>
        writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)) });

    private static void Entry(TarWriter writer, TarEntryType type, string name, string? link = null)
    {
        var entry = new PaxTarEntry(type, name);
        if (link is not null)
            entry.LinkName = link;
        writer.WriteEntry(entry);
    }

    /// <summary>Reads PATHS from LAYERS (bottom first); records which layers were opened, and disposed.</summary>
    private static async Task<(IReadOnlyDictionary<string, byte[]?> Files, List<string> Opened, int Disposed)> ReadAsync(IReadOnlyList<Layer> layers, params string[] paths)
    {
        var opened = new List<string>();
        var disposed = 0;
        var files = await LayerFileReader.ReadAsync(
            [.. layers.Select(l => l.Ref)],
            (blob, _) =>
            {
                opened.Add(blob.Digest);
                var stream = new DisposeCountingStream(layers.Single(l => l.Ref == blob).Blob, () => disposed++);
                return Task.FromResult<Stream>(stream);
            },
            paths,
            CancellationToken.None);
        return (files, opened, disposed);
    }

    private static string? Text(IReadOnlyDictionary<string, byte[]?> files, string path) => files[path] is { } b ? Encoding.UTF8.GetString(b) : null;

    [Test]
    public async Task The_top_layer_wins_and_lower_layers_are_not_opened_once_everything_is_found()
    {
        var bottom = Tar(w => { File(w, "etc/passwd", "bottom"); File(w, "etc/group", "bottom group"); });
        var middle = Tar(w => File(w, "etc/passwd", "middle"));
        var top = Tar(w => File(w, "etc/passwd", "top"));
        var (files, opened, disposed) = await ReadAsync([bottom, middle, top], Passwd, Group);
        Assert.Multiple(() =>
        {
            Assert.That(Text(files, Passwd), Is.EqualTo("top"));
            Assert.That(Text(files, Group), Is.EqualTo("bottom group"));
            Assert.That(opened, Is.EqualTo(new[] { top.Ref.Digest, middle.Ref.Digest, bottom.Ref.Digest }));
            Assert.That(disposed, Is.EqualTo(3));
        });

        var (onlyPasswd, openedForPasswd, _) = await ReadAsync([bottom, middle, top], Passwd);
        Assert.That(Text(onlyPasswd, Passwd), Is.EqualTo("top"));
        Assert.That(openedForPasswd, Is.EqualTo(new[] { top.Ref.Digest }), "nothing below the layer that has it");
    }

    [Test]
    public async Task Names_with_dot_slash_or_a_leading_slash_match_and_a_missing_file_is_null()
    {
        var layer = Tar(w => { Entry(w, TarEntryType.Directory, "./etc/"); File(w, "./etc/passwd", "dotted"); File(w, "/etc/group", "absolute"); });
        var (files, _, _) = await ReadAsync([layer], "/etc/passwd", Group, "etc/shadow");
        Assert.Multiple(() =>
        {
            Assert.That(Text(files, "/etc/passwd"), Is.EqualTo("dotted"));
            Assert.That(Text(files, Group), Is.EqualTo("absolute"));
            Assert.That(files["etc/shadow"], Is.Null);
        });
    }

    [Test]
    public async Task A_whiteout_hides_the_file_from_lower_layers()
    {
        var bottom = Tar(w => { File(w, "etc/passwd", "old"); File(w, "etc/group", "old group"); });
        var top = Tar(w => Entry(w, TarEntryType.RegularFile, "etc/.wh.passwd"));
        var (files, opened, _) = await ReadAsync([bottom, top], Passwd, Group);
        Assert.Multiple(() =>
        {
            Assert.That(files[Passwd], Is.Null);
            Assert.That(Text(files, Group), Is.EqualTo("old group"));
            Assert.That(opened, Has.Count.EqualTo(2));
        });

        // A later layer may bring it back.
        var again = Tar(w => File(w, "etc/passwd", "new"));
        Assert.That(Text((await ReadAsync([bottom, top, again], Passwd)).Files, Passwd), Is.EqualTo("new"));
    }

    [Test]
    public async Task A_whiteout_of_the_directory_hides_everything_under_it()
    {
        var bottom = Tar(w => File(w, "etc/passwd", "old"));
        var top = Tar(w => Entry(w, TarEntryType.RegularFile, ".wh.etc"));
        var (files, _, _) = await ReadAsync([bottom, top], Passwd);
        Assert.That(files[Passwd], Is.Null);
    }

    [Test]
    public async Task An_opaque_directory_hides_lower_content_but_not_its_own_layer_s()
    {
        var bottom = Tar(w => { File(w, "etc/passwd", "old"); File(w, "etc/group", "old group"); });
        var top = Tar(w => { Entry(w, TarEntryType.Directory, "etc/"); Entry(w, TarEntryType.RegularFile, "etc/.wh..wh..opq"); File(w, "etc/group", "new group"); });
        var (files, _, _) = await ReadAsync([bottom, top], Passwd, Group);
        Assert.Multiple(() =>
        {
            Assert.That(files[Passwd], Is.Null);
            Assert.That(Text(files, Group), Is.EqualTo("new group"));
        });

        // An opaque marker elsewhere hides nothing here.
        var unrelated = Tar(w => Entry(w, TarEntryType.RegularFile, "etc/ssl/.wh..wh..opq"));
        Assert.That(Text((await ReadAsync([bottom, unrelated], Passwd)).Files, Passwd), Is.EqualTo("old"));
    }

    [Test]
    public async Task A_file_replacing_the_directory_hides_what_was_under_it()
    {
        var bottom = Tar(w => File(w, "etc/passwd", "old"));
        var top = Tar(w => File(w, "etc", "not a directory"));
        Assert.That((await ReadAsync([bottom, top], Passwd)).Files[Passwd], Is.Null);
    }

    [Test]
    public void Links_are_not_followed_and_say_so()
    {
        var symlink = Tar(w => Entry(w, TarEntryType.SymbolicLink, "etc/passwd", "/usr/lib/passwd"));
        var error = Assert.ThrowsAsync<NotSupportedException>(() => ReadAsync([symlink], Passwd));
        Assert.That(error!.Message, Does.Contain("/etc/passwd is a symbolic link (to /usr/lib/passwd)").And.Contain(symlink.Ref.Digest));

        var hardlink = Tar(w => { File(w, "etc/passwd-", "x"); Entry(w, TarEntryType.HardLink, "etc/passwd", "etc/passwd-"); });
        var hard = Assert.ThrowsAsync<NotSupportedException>(() => ReadAsync([hardlink], Passwd));
        Assert.That(hard!.Message, Does.Contain("/etc/passwd is a hard link (to /etc/passwd-)"));

        var linkedDirectory = Tar(w => Entry(w, TarEntryType.SymbolicLink, "etc", "private/etc"));
        var through = Assert.ThrowsAsync<NotSupportedException>(() => ReadAsync([linkedDirectory], Passwd));
        Assert.That(through!.Message, Does.Contain("/etc is a symbolic link (to private/etc)"));
    }

    [Test]
    public async Task A_directory_at_the_path_is_no_file()
    {
        var layer = Tar(w => Entry(w, TarEntryType.Directory, "etc/passwd/"));
        var lower = Tar(w => File(w, "etc/passwd", "hidden by the directory above"));
        Assert.That((await ReadAsync([lower, layer], Passwd)).Files[Passwd], Is.Null);
    }

    [Test]
    public async Task Compression_is_told_by_the_bytes_not_the_media_type()
    {
        var plain = Tar(w => File(w, "etc/passwd", "plain"), gzip: false, mediaType: "application/vnd.oci.image.layer.v1.tar+gzip");
        var gzipped = Tar(w => File(w, "etc/group", "gzipped"), gzip: true, mediaType: "application/vnd.oci.image.layer.v1.tar");
        var (files, _, _) = await ReadAsync([plain, gzipped], Passwd, Group);
        Assert.Multiple(() =>
        {
            Assert.That(Text(files, Passwd), Is.EqualTo("plain"));
            Assert.That(Text(files, Group), Is.EqualTo("gzipped"));
        });
    }

    [Test]
    public async Task An_empty_layer_and_no_layers_find_nothing()
    {
        var empty = new Layer(new BlobRef("application/vnd.oci.image.layer.v1.tar", "sha256:" + new string('e', 64), 0), []);
        Assert.That((await ReadAsync([empty], Passwd)).Files[Passwd], Is.Null);
        Assert.That((await ReadAsync([], Passwd)).Files[Passwd], Is.Null);
    }

    [Test]
    public async Task A_zstd_layer_is_read_like_a_gzip_one()
    {
        var plain = Tar(w => File(w, "etc/passwd", "z:x:7:7::/:/bin/sh\n"), gzip: false);
        var zstd = new Layer(new BlobRef("application/vnd.oci.image.layer.v1.tar+zstd", "sha256:" + new string('z', 64), 8),
            new ZstdSharp.Compressor(3).Wrap(plain.Blob).ToArray());
        Assert.That(System.Text.Encoding.UTF8.GetString((await ReadAsync([zstd], Passwd)).Files[Passwd]!), Is.EqualTo("z:x:7:7::/:/bin/sh\n"));
    }

    [Test]
    public void Garbage_and_oversized_files_are_refused_naming_the_layer()
    {
        var garbage = new Layer(new BlobRef("application/vnd.oci.image.layer.v1.tar", "sha256:" + new string('g', 64), 600), [.. Enumerable.Repeat((byte)'x', 600)]);
        Assert.That(Assert.ThrowsAsync<ImageFormatException>(() => ReadAsync([garbage], Passwd))!.Message, Does.Contain(garbage.Ref.Digest));

        var big = Tar(w => File(w, "etc/passwd", new string('a', LayerFileReader.MaxFileBytes + 1)));
        Assert.That(Assert.ThrowsAsync<ImageFormatException>(() => ReadAsync([big], Passwd))!.Message,
            Does.Contain("/etc/passwd").And.Contain($"{LayerFileReader.MaxFileBytes + 1} bytes"));
    }

    /// <summary>A layer blob that counts its disposal (the reader must close every layer it opened).</summary>
    private sealed class DisposeCountingStream(byte[] content, Action disposed) : MemoryStream(content, writable: false)
    {
        protected override void Dispose(bool disposing)
        {
            if (disposing)
                disposed();
            base.Dispose(disposing);
        }
    }
}
