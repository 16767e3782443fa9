using System.Text.Json.Nodes;

namespace Containerd.Daemon.Cri.Network;

/// <summary>
/// What one plugin run is given, built as libcni builds it: the plugin's own
/// configuration with the list's name and cniVersion, the previous plugin's
/// result as prevResult, and runtimeConfig entries for the capabilities the
/// plugin declares; and the CNI_ARGS containerd passes for a pod.
/// </summary>
public static class CniInvocation
{
    /// <summary>The capability (and runtimeConfig key) of published ports, served by the portmap plugin.</summary>
    public const string PortMappingsCapability = "portMappings";

    /// <summary>
    /// The JSON a plugin reads on stdin. <paramref name="prevResult"/> is set
    /// when not null. For each capability the plugin sets true in its
    /// <c>capabilities</c> and <paramref name="capabilityArgs"/> has, runtimeConfig
    /// carries the value; as in libcni, a runtimeConfig in the file is replaced
    /// when there is something to inject and kept otherwise.
    /// </summary>
    public static JsonObject PluginConfig(CniNetworkConfig network, JsonObject plugin, JsonNode? prevResult,
        IReadOnlyDictionary<string, JsonNode> capabilityArgs)
    {
        var config = (JsonObject)plugin.DeepClone();
        config["name"] = network.Name;
        config["cniVersion"] = network.CniVersion;
        if (prevResult is not null)
            config["prevResult"] = prevResult.DeepClone();
        else
            config.Remove("prevResult");

        var runtimeConfig = new JsonObject();
        if (plugin["capabilities"] is JsonObject capabilities)
        {
            foreach (var (capability, supported) in capabilities)
            {
                if (supported is JsonValue flag && flag.TryGetValue(out bool on) && on
                    && capabilityArgs.TryGetValue(capability, out var value))
                    runtimeConfig[capability] = value.DeepClone();
            }
        }
        if (runtimeConfig.Count > 0)
            config["runtimeConfig"] = runtimeConfig;
        return config;
    }

    /// <summary>
    /// containerd's capability arguments for a pod: portMappings when at least one
    /// mapping has a host port (those without are left out, as containerd's
    /// toCNIPortMappings does).
    /// </summary>
    public static IReadOnlyDictionary<string, JsonNode> CapabilityArgs(PodNetworkRequest request)
    {
        var args = new Dictionary<string, JsonNode>(StringComparer.Ordinal);
        var ports = new JsonArray();
        foreach (var mapping in request.PortMappings ?? [])
        {
            if (mapping.HostPort <= 0)
                continue;
            var port = new JsonObject
            {
                ["hostPort"] = mapping.HostPort,
                ["containerPort"] = mapping.ContainerPort,
                ["protocol"] = mapping.Protocol switch
                {
                    PortProtocol.Udp => "udp",
                    PortProtocol.Sctp => "sctp",
                    _ => "tcp",
                },
            };
            if (!string.IsNullOrEmpty(mapping.HostIp))
                port["hostIP"] = mapping.HostIp;
            ports.Add((JsonNode)port);
        }
        if (ports.Count > 0)
            args[PortMappingsCapability] = ports;
        return args;
    }

    /// <summary>
    /// CNI_ARGS as containerd sets it for a pod (toCNILabels): IgnoreUnknown=1 so
    /// that plugins which know none of the K8S_ keys accept them.
    /// </summary>
    public static string CniArgs(PodNetworkRequest request) =>
        $"IgnoreUnknown=1;K8S_POD_NAMESPACE={request.PodNamespace};K8S_POD_NAME={request.PodName};" +
        $"K8S_POD_INFRA_CONTAINER_ID={request.SandboxId};K8S_POD_UID={request.PodUid}";

    /// <summary>
    /// True for spec versions whose DEL takes the ADD result as prevResult
    /// (0.4.0 and later; libcni passes none to older plugins).
    /// </summary>
    public static bool DeleteTakesPrevResult(string cniVersion) => cniVersion is not ("0.1.0" or "0.2.0" or "0.3.0" or "0.3.1");
}
