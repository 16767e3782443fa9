using Containerd.Daemon.Hosting;

namespace Containerd.Daemon.Tasks;

/// <summary>Maps a container's runtime name to the OCI runtime binary its shim runs.</summary>
public sealed class RuntimeResolver(DaemonOptions options)
{
    public string Resolve(string? name, string containerId)
    {
        switch (name ?? "")
        {
            // "linux" was the 2017 system's default runtime; later clients send the
            // io.containerd.* names for the same runc-based runtime.
            case "" or "linux" or "runc" or "io.containerd.runtime.v1.linux" or "io.containerd.runc.v1" or "io.containerd.runc.v2":
                return options.Runtime;
            case "crun":
                return ExecutableLookup.Find("crun")
                    ?? throw RpcErrors.FailedPrecondition($"runtime \"crun\" of container \"{containerId}\" is not installed (crun not found on PATH)");
            default:
                throw RpcErrors.InvalidArgument(
                    $"container \"{containerId}\" names unknown runtime \"{name}\" (known: linux, runc, crun)");
        }
    }
}
