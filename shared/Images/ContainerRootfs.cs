namespace Containerd.Shared.Images;

/// <summary>
/// How a container record asks the daemon for a root filesystem made from its
/// image (Container.image): this label, naming the snapshotter. Our Container
/// message has no snapshotter/snapshot_key fields (containerd's have), so a
/// label carries the request; the daemon derives the snapshot's key.
/// </summary>
public static class ContainerRootfs
{
    public const string SnapshotterLabel = "containerd.io/snapshotter";
    public const string Overlay = "overlayfs";
}
