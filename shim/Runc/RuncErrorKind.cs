namespace Containerd.Shim.Runc;

/// <summary>How a runc failure is reported to clients.</summary>
internal enum RuncErrorKind
{
    /// <summary>runc has no such container (never created, or already deleted): NotFound.</summary>
    ContainerMissing,

    /// <summary>The request cannot work in the container's current condition: FailedPrecondition.</summary>
    Precondition,

    /// <summary>A fault of runc or the machine: Internal.</summary>
    Internal,
}
