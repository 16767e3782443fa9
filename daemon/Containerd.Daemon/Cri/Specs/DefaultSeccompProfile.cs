using System.Runtime.InteropServices;
using System.Text.Json.Nodes;

namespace Containerd.Daemon.Cri.Specs;

/// <summary>containerd 1.6's default seccomp profile (contrib/seccomp), as <c>linux.seccomp</c> JSON.</summary>
public static class DefaultSeccompProfile
{
    /// <param name="boundingCapabilities">The process's bounding set: capability-guarded syscalls are allowed when their capability is in it.</param>
    /// <param name="architecture">X64 or Arm64 (others: no architectures listed, as containerd).</param>
    public static JsonObject Build(IReadOnlyCollection<string> boundingCapabilities, Architecture architecture) =>
        throw new NotImplementedException();
}
