using System.Text.Json.Nodes;
using Containerd.Daemon.Cri.Specs;
using Containerd.Shared.Oci;
using Runtime.V1;

namespace Containerd.UnitTests.Daemon.Cri.Specs;

/// <summary>Small CRI configs and spec inputs the spec tests vary one field at a time.</summary>
internal static class SpecInputs
{
    public static readonly ImageConfig Pause = new(["/pause"], [], ["PATH=/usr/bin"], "", "");

    public static readonly ImageConfig Busybox = new([], ["sh"], ["PATH=/bin", "LANG=C"], "/home", "");

    public static readonly SandboxFiles Files = new("/run/s/hostname", "/run/s/hosts", "/run/s/resolv.conf", "/run/s/shm");

    public static PodSandboxConfig Pod(Action<PodSandboxConfig>? change = null)
    {
        var pod = new PodSandboxConfig
        {
            Metadata = new PodSandboxMetadata { Name = "web", Namespace = "default", Uid = "uid-1", Attempt = 0 },
            Hostname = "web-host",
            LogDirectory = "/var/log/pods/default_web_uid-1",
            Linux = new LinuxPodSandboxConfig
            {
                CgroupParent = "/kubepods/besteffort/poduid-1",
                SecurityContext = new LinuxSandboxSecurityContext { NamespaceOptions = new NamespaceOption() },
            },
        };
        change?.Invoke(pod);
        return pod;
    }

    public static SandboxSpecInput Sandbox(Action<PodSandboxConfig>? change = null) =>
        new("sb1", Pod(change), Pause, Files, "/var/run/netns/cni-1", SpecUser.Root)
        {
            Architecture = System.Runtime.InteropServices.Architecture.X64,
        };

    public static ContainerConfig Container(Action<ContainerConfig>? change = null)
    {
        var config = new ContainerConfig
        {
            Metadata = new ContainerMetadata { Name = "app" },
            Image = new ImageSpec { Image = "docker.io/library/busybox:latest" },
            Linux = new LinuxContainerConfig
            {
                SecurityContext = new LinuxContainerSecurityContext { NamespaceOptions = new NamespaceOption() },
            },
        };
        change?.Invoke(config);
        return config;
    }

    public static ContainerSpecInput ContainerInput(Action<ContainerConfig>? change = null, Action<PodSandboxConfig>? pod = null) =>
        new("c1", "sb1", Container(change), Pod(pod), Busybox, "docker.io/library/busybox:latest", 4242, Files, SpecUser.Root, Devices)
        {
            Architecture = System.Runtime.InteropServices.Architecture.X64,
        };

    /// <summary>A fake /dev: /dev/fuse and /dev/loop0; anything else does not exist.</summary>
    public static DeviceInfo Devices(string path) => path switch
    {
        "/dev/fuse" => new DeviceInfo('c', 10, 229, 0x1B6 /* 0666 */, 0, 0),
        "/dev/loop0" => new DeviceInfo('b', 7, 0, 0x1B0 /* 0660 */, 0, 6),
        _ => throw new FileNotFoundException("no such device", path),
    };

    public static List<string> Strings(JsonNode? node) =>
        node is JsonArray array ? [.. array.Select(v => (string)v!)] : [];

    public static JsonObject? Mount(JsonObject spec, string destination) =>
        spec["mounts"]!.AsArray().Select(m => m!.AsObject()).SingleOrDefault(m => (string?)m["destination"] == destination);

    public static JsonObject? Namespace(JsonObject spec, string type) =>
        spec["linux"]!["namespaces"]!.AsArray().Select(n => n!.AsObject()).SingleOrDefault(n => (string?)n["type"] == type);

    public static List<string> NamespaceTypes(JsonObject spec) =>
        [.. spec["linux"]!["namespaces"]!.AsArray().Select(n => (string)n!["type"]!)];
}
