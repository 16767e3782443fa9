using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;

namespace Containerd.UnitTests.Daemon.Snapshots;

/// <summary>Builds layer tars in memory with TarWriter (PAX, so xattrs and long names round-trip).</summary>
public sealed class LayerTar
{
    private readonly MemoryStream _buffer = new();
    private readonly TarWriter _writer;

    public LayerTar() => _writer = new TarWriter(_buffer, TarEntryFormat.Pax, leaveOpen: true);

    public static readonly DateTimeOffset Time = new(2020, 1, 2, 3, 4, 5, TimeSpan.Zero);

    public LayerTar Dir(string name, int mode = 0x1ed, int uid = 0, int gid = 0, IDictionary<string, string>? xattrs = null)
    {
        var entry = xattrs is null
            ? new PaxTarEntry(TarEntryType.Directory, name)
            : new PaxTarEntry(TarEntryType.Directory, name, xattrs.ToDictionary(x => "SCHILY.xattr." + x.Key, x => x.Value));
        entry.Mode = (UnixFileMode)mode;
        entry.Uid = uid;
        entry.Gid = gid;
        entry.ModificationTime = Time;
        return Add(entry);
    }

    public LayerTar File(string name, string text, int mode = 0x1a4, int uid = 0, int gid = 0, IDictionary<string, string>? xattrs = null)
    {
        var entry = xattrs is null
            ? new PaxTarEntry(TarEntryType.RegularFile, name)
            : new PaxTarEntry(TarEntryType.RegularFile, name, xattrs.ToDictionary(x => "SCHILY.xattr." + x.Key, x => x.Value));
        entry.Mode = (UnixFileMode)mode;
        entry.Uid = uid;
        entry.Gid = gid;
        entry.ModificationTime = Time;
        entry.DataStream = new MemoryStream(Encoding.UTF8.GetBytes(text));
        return Add(entry);
    }

    public LayerTar Symlink(string name, string target) =>
        Add(new PaxTarEntry(TarEntryType.SymbolicLink, name) { LinkName = target, ModificationTime = Time });

    public LayerTar HardLink(string name, string target) =>
        Add(new PaxTarEntry(TarEntryType.HardLink, name) { LinkName = target, ModificationTime = Time });

    public LayerTar Device(string name, TarEntryType type, int major, int minor) =>
        Add(new PaxTarEntry(type, name) { DeviceMajor = major, DeviceMinor = minor, Mode = (UnixFileMode)0x1b6, ModificationTime = Time });

    public LayerTar Fifo(string name) =>
        Add(new PaxTarEntry(TarEntryType.Fifo, name) { Mode = (UnixFileMode)0x1a4, ModificationTime = Time });

    public LayerTar Add(TarEntry entry)
    {
        _writer.WriteEntry(entry);
        return this;
    }

    /// <summary>The finished uncompressed tar.</summary>
    public byte[] Tar()
    {
        _writer.Dispose();
        return _buffer.ToArray();
    }

    public static byte[] Gzip(byte[] tar)
    {
        var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
            gzip.Write(tar);
        return output.ToArray();
    }

    public static string DiffId(byte[] tar) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(tar));
}
