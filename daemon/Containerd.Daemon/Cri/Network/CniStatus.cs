namespace Containerd.Daemon.Cri.Network;

/// <summary>
/// CRI Status's NetworkReady condition. Not ready carries containerd's reason
/// and message (pkg/cri/server/status.go with go-cni's ErrCNINotInitialized);
/// <see cref="Detail"/> says why, for logs and verbose Status info.
/// </summary>
public sealed record CniStatus(bool Ready, string Reason, string Message, string Detail)
{
    public const string NotReadyReason = "NetworkPluginNotReady";
    public const string NotInitializedMessage = "Network plugin returns error: cni plugin not initialized";

    public static CniStatus ReadyStatus(string detail) => new(true, "", "", detail);

    public static CniStatus NotReady(string detail) => new(false, NotReadyReason, NotInitializedMessage, detail);
}
