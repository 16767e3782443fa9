namespace Containerd.Shim.Process;

/// <summary>
/// Removes what the task holds besides the init: runc's container, the rootfs
/// mounts and the exec'd processes. The init calls it from its delete, so the
/// teardown has exactly one path whether a client deleted the task or a
/// forced shutdown removes it.
/// </summary>
internal interface IContainerTeardown
{
    /// <param name="strict">
    /// Delete: a runc failure (other than "no such container") is thrown as a
    /// gRPC status. Forced shutdown: it is logged and the teardown goes on.
    /// </param>
    Task RemoveContainerAsync(bool strict);
}
