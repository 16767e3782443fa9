namespace Containerd.Daemon.Snapshots;

/// <summary>How the layer applier represents OCI whiteouts.</summary>
public enum WhiteoutStyle
{
    /// <summary>The target is an overlay upper directory: a whiteout becomes a 0/0 character device, an opaque directory gets trusted.overlay.opaque=y.</summary>
    Overlay,

    /// <summary>The target is a plain directory holding the lower layers' files: a whiteout removes them.</summary>
    Remove,
}
