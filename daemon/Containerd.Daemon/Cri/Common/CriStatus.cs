using System.Reflection;
using Containerd.Daemon.Cri.Network;
using Runtime.V1;

namespace Containerd.Daemon.Cri.Common;

/// <summary>Version, Status and RuntimeConfig: what the kubelet asks before anything else.</summary>
public sealed class CriStatus(CniNetwork network)
{
    public const string RuntimeName = "containerd";
    public const string ApiVersion = "v1";

    private readonly string _version = ReadVersion();

    public VersionResponse Version() => new()
    {
        // "0.1.0" is the kubelet-facing version of the CRI itself, as containerd answers.
        Version = "0.1.0",
        RuntimeName = RuntimeName,
        RuntimeVersion = _version,
        RuntimeApiVersion = ApiVersion,
    };

    public StatusResponse Status(bool verbose)
    {
        var cni = network.Status();
        var response = new StatusResponse
        {
            Status = new RuntimeStatus
            {
                Conditions =
                {
                    new RuntimeCondition { Type = "RuntimeReady", Status = true },
                    new RuntimeCondition { Type = "NetworkReady", Status = cni.Ready, Reason = cni.Reason, Message = cni.Message },
                },
            },
            RuntimeHandlers =
            {
                new RuntimeHandler { Name = "", Features = new RuntimeHandlerFeatures() },
                new RuntimeHandler { Name = CriNames.DefaultRuntimeHandler, Features = new RuntimeHandlerFeatures() },
            },
            Features = new RuntimeFeatures(),
        };
        // crictl info parses every value as JSON, as containerd writes them.
        if (verbose)
        {
            response.Info["cniconfig"] = CriInfo.Json(writer =>
            {
                writer.WriteStartObject();
                writer.WriteBoolean("networkReady", cni.Ready);
                writer.WriteString("detail", cni.Detail);
                writer.WriteEndObject();
            });
            response.Info["lastCNILoadStatus"] = CriInfo.Json(writer => writer.WriteStringValue(cni.Ready ? "OK" : cni.Message));
        }
        return response;
    }

    /// <summary>The cgroup driver the kubelet must match: this daemon places cgroups as paths (cgroupfs) unless a parent is a systemd slice.</summary>
    public RuntimeConfigResponse RuntimeConfig() => new()
    {
        Linux = new LinuxRuntimeConfiguration { CgroupDriver = CgroupDriver.Cgroupfs },
    };

    /// <summary>The kubelet's pod CIDR: nothing to do with a CNI configuration that names its own ranges (as containerd without a template).</summary>
    public UpdateRuntimeConfigResponse UpdateRuntimeConfig(UpdateRuntimeConfigRequest request) => new();

    private static string ReadVersion()
    {
        var informational = typeof(CriStatus).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
        var plus = informational.IndexOf('+');
        return plus < 0 ? informational : informational[..plus];
    }
}
