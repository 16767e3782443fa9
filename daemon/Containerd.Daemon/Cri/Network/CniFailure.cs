namespace Containerd.Daemon.Cri.Network;

/// <summary>What kind of failure a <see cref="CniException"/> is, for the caller's gRPC status.</summary>
public enum CniFailure
{
    /// <summary>No valid network configuration (FailedPrecondition): CRI Status says NetworkPluginNotReady.</summary>
    NotReady,

    /// <summary>A request field CNI refuses (InvalidArgument): a sandbox id or interface name of the wrong form.</summary>
    InvalidRequest,

    /// <summary>A plugin binary is in none of the plugin directories (FailedPrecondition).</summary>
    PluginNotFound,

    /// <summary>A plugin exited non-zero; its CNI error (code, msg, details) is in the exception (Internal/Unknown).</summary>
    PluginFailed,

    /// <summary>A plugin did not finish within the timeout and was killed (DeadlineExceeded).</summary>
    Timeout,

    /// <summary>A plugin succeeded but printed something that is not a CNI result (Internal).</summary>
    InvalidResult,
}
