namespace Containerd.Daemon.Snapshots;

/// <summary>Extracts one image layer onto a directory.</summary>
public interface ILayerApplier
{
    /// <summary>
    /// Applies the layer tar <paramref name="layer"/> (a tar, tar+gzip or tar+zstd
    /// layer media type, decompressed as its magic says; other media types throw
    /// <see cref="NotSupportedException"/>) onto <paramref name="directory"/>:
    /// with <see cref="LayerApplier"/>'s default <see cref="WhiteoutStyle.Overlay"/>
    /// it is the upper directory of an overlay snapshot, whiteouts become 0/0
    /// character devices and opaque directories get trusted.overlay.opaque=y;
    /// with <see cref="WhiteoutStyle.Remove"/> whiteouts delete the lower files.
    /// Returns the diff id: "sha256:" + the hash of the uncompressed stream.
    /// An entry that would escape the directory throws <see cref="InvalidDataException"/> naming it.
    /// <paramref name="parents"/> are the snapshot's lower directories, top first
    /// (read only, never through a symlink): a directory the layer leaves out but
    /// needs is made as the nearest of them has it, as containerd does.
    /// </summary>
    Task<string> ApplyAsync(Stream layer, string mediaType, string directory, IReadOnlyList<string> parents, CancellationToken cancellationToken);
}
