namespace Containerd.Daemon.Snapshots;

/// <summary>Extracts one image layer onto a directory.</summary>
public interface ILayerApplier
{
    /// <summary>
    /// Applies the layer tar <paramref name="layer"/> (compressed as
    /// <paramref name="mediaType"/> says: tar, tar+gzip; others throw
    /// <see cref="NotSupportedException"/>) onto <paramref name="directory"/>:
    /// with <see cref="LayerApplier"/>'s default <see cref="WhiteoutStyle.Overlay"/>
    /// it is the upper directory of an overlay snapshot, whiteouts become 0/0
    /// character devices and opaque directories get trusted.overlay.opaque=y;
    /// with <see cref="WhiteoutStyle.Remove"/> whiteouts delete the lower files.
    /// Returns the diff id: "sha256:" + the hash of the uncompressed stream.
    /// An entry that would escape the directory throws <see cref="InvalidDataException"/> naming it.
    /// </summary>
    Task<string> ApplyAsync(Stream layer, string mediaType, string directory, CancellationToken cancellationToken);
}
