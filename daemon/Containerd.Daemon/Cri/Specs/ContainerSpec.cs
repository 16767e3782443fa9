using System.Text.Json.Nodes;

namespace Containerd.Daemon.Cri.Specs;

/// <summary>The OCI runtime spec of a container in a pod, as containerd 1.6's containerSpec.</summary>
public static class ContainerSpec
{
    /// <exception cref="SpecException">The config cannot be run (the message names the field).</exception>
    public static JsonObject Build(ContainerSpecInput input) => throw new NotImplementedException();
}
