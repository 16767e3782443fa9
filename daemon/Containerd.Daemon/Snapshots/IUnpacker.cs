using ContentDescriptor = Containerd.Api.Types.ContentDescriptor;

namespace Containerd.Daemon.Snapshots;

/// <summary>Unpacks an image's layers from the content store into committed snapshots.</summary>
public interface IUnpacker
{
    /// <summary>
    /// For each layer (bottom first) with its diff id (from the image config's
    /// rootfs.diff_ids): the chain id is containerd's ChainID
    /// (chain(L0) = diffid(L0); chain(Ln) = sha256(chain(Ln-1) + " " + diffid(Ln)));
    /// a committed snapshot named by it is reused, else the layer is prepared on
    /// the previous chain id, applied, its diff id verified
    /// (<see cref="InvalidDataException"/> on a mismatch) and committed as the chain id.
    /// Returns the top chain id (the parent to Prepare a container's rootfs on).
    /// </summary>
    Task<string> UnpackAsync(IReadOnlyList<ContentDescriptor> layers, IReadOnlyList<string> diffIds, CancellationToken cancellationToken);
}
