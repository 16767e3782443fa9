using System.IO.Compression;

namespace Containerd.Shared.Images;

/// <summary>
/// A layer blob's tar stream. As containerd's differ does, the blob's own first
/// bytes decide how it is compressed (gzip, zstd or none), not its media type, so
/// a layer whose manifest names the wrong compression still reads. One rule for
/// the daemon's unpacker and for readers of single files (ctr, the CRI).
/// </summary>
public static class LayerStreams
{
    /// <summary>The decompressed tar; disposing it disposes <paramref name="blob"/>.</summary>
    public static async Task<Stream> DecompressAsync(Stream blob, CancellationToken cancellationToken)
    {
        var magic = new byte[4];
        var read = await blob.ReadAtLeastAsync(magic, magic.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        var replay = new PrefixedReadStream(magic.AsMemory(0, read), blob);
        return magic.AsSpan(0, read) switch
        {
            [0x1f, 0x8b, ..] => new GZipStream(replay, CompressionMode.Decompress),
            [0x28, 0xb5, 0x2f, 0xfd] => new ZstdSharp.DecompressionStream(replay),
            _ => replay,
        };
    }
}
