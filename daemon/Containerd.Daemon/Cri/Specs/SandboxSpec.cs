using System.Text.Json.Nodes;

namespace Containerd.Daemon.Cri.Specs;

/// <summary>The OCI runtime spec of a pod's sandbox (pause) container, as containerd 1.6's sandboxContainerSpec.</summary>
public static class SandboxSpec
{
    /// <exception cref="SpecException">The config cannot be run (the message names the field).</exception>
    public static JsonObject Build(SandboxSpecInput input) => throw new NotImplementedException();
}
