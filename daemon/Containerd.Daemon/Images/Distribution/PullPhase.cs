namespace Containerd.Daemon.Images.Distribution;

public enum PullPhase
{
    /// <summary>Queued behind the download limit.</summary>
    Waiting,
    Downloading,
    /// <summary>Already in the content store: not downloaded again (how an interrupted pull resumes).</summary>
    Exists,
    /// <summary>All bytes received; the store is checking digest and size before the blob becomes visible.</summary>
    Verifying,
    Done,
}
