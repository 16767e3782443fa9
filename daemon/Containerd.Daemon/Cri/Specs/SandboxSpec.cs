using System.Globalization;
using System.Text.Json.Nodes;
using Containerd.Shared.Oci;
using Grpc.Core;
using Runtime.V1;

namespace Containerd.Daemon.Cri.Specs;

/// <summary>
/// The OCI runtime spec of a pod's sandbox (pause) container, as containerd
/// 1.6's sandboxContainerSpec: the image's entrypoint + cmd, read-only root,
/// the pod's namespaces (network: the CNI netns path, none with host network;
/// UTS only without host network, and the pod hostname in it; IPC and PID unless
/// NODE), the sandbox's /dev/shm and resolv.conf bound read-only, CPU shares 2,
/// oom_score_adj -998, the pod's sysctls and the CRI annotations.
/// </summary>
/// <remarks>
/// Deliberate differences from containerd: the sandbox's <c>/dev/shm</c> bind
/// replaces the default <c>/dev/shm</c> tmpfs entry instead of being mounted
/// over it; a pod hostname with host network is not set (runc cannot set a
/// hostname without a UTS namespace; the kubelet sends none then); a null
/// network namespace path without host network gives the sandbox a new, empty
/// network namespace. The pod's <c>linux.resources</c> become only the
/// <c>io.kubernetes.cri.sandbox-cpu-*</c> / <c>-memory</c> annotations, as
/// containerd (the pause process needs no limits of its own; overhead is ignored).
/// </remarks>
public static class SandboxSpec
{
    /// <summary>kubernetes#47938: the pause container is the last thing the OOM killer should pick.</summary>
    public const int OomScoreAdj = -998;

    /// <summary>containerd's DefaultSandboxCPUshares.</summary>
    public const long CpuShares = 2;

    /// <exception cref="SpecException">The config cannot be run (the message names the field).</exception>
    public static JsonObject Build(SandboxSpecInput input)
    {
        var config = input.Config;
        var what = $"sandbox {input.Id}";
        var security = config.Linux?.SecurityContext;
        var namespaces = security?.NamespaceOptions;
        var hostNetwork = SpecParts.IsNode(namespaces?.Network);
        var hostIpc = SpecParts.IsNode(namespaces?.Ipc);
        var hostPid = SpecParts.IsNode(namespaces?.Pid);

        List<string> args = [.. input.Image.Entrypoint, .. input.Image.Cmd];
        if (args.Count == 0)
            throw new SpecException(StatusCode.InvalidArgument, $"{what}: the sandbox image has no entrypoint or cmd");
        var env = new List<string>();
        SpecParts.MergeEnv(env, input.Image.Env);
        var capabilities = Capabilities.Default;

        var process = new JsonObject
        {
            ["terminal"] = false,
            ["user"] = SpecParts.User(input.User, security?.SupplementalGroups ?? []),
            ["args"] = ProcessSpec.Strings(args),
            ["env"] = ProcessSpec.Strings(env),
            ["cwd"] = input.Image.WorkingDir.Length > 0 ? input.Image.WorkingDir : "/",
            ["capabilities"] = SpecParts.Capabilities(capabilities),
            ["noNewPrivileges"] = true,
            ["oomScoreAdj"] = OomScoreFloor.Apply(OomScoreAdj, input.OomScoreAdjFloor),
        };

        var mounts = SpecParts.DefaultMounts();
        var shm = hostIpc ? SpecParts.DevShm : input.Files.Shm;
        if (shm is not null)
        {
            mounts.RemoveAll(m => (string?)m["destination"] == SpecParts.DevShm);
            mounts.Add(SpecParts.Bind(SpecParts.DevShm, shm, "rbind", "ro"));
        }
        if (input.Files.ResolvConf is { } resolv)
            mounts.Add(SpecParts.Bind(SpecParts.ResolvConf, resolv, "rbind", "ro"));

        var linuxNamespaces = new JsonArray();
        if (!hostPid)
            linuxNamespaces.Add((JsonNode)SpecParts.Namespace("pid"));
        if (!hostIpc)
            linuxNamespaces.Add((JsonNode)SpecParts.Namespace("ipc"));
        if (!hostNetwork)
            linuxNamespaces.Add((JsonNode)SpecParts.Namespace("uts"));
        linuxNamespaces.Add((JsonNode)SpecParts.Namespace("mount"));
        if (!hostNetwork)
            linuxNamespaces.Add((JsonNode)SpecParts.Namespace("network", input.NetworkNamespacePath));

        var linux = new JsonObject
        {
            ["cgroupsPath"] = CgroupPaths.For(config.Linux?.CgroupParent, input.Id),
            ["resources"] = new JsonObject
            {
                ["devices"] = new JsonArray(SpecParts.DenyAllDevices()),
                ["cpu"] = new JsonObject { ["shares"] = CpuShares },
            },
            ["namespaces"] = linuxNamespaces,
            ["maskedPaths"] = ProcessSpec.Strings(RuntimeSpec.DefaultMaskedPaths),
            ["readonlyPaths"] = ProcessSpec.Strings(RuntimeSpec.DefaultReadonlyPaths),
        };
        var sysctl = SpecParts.Sysctls(config);
        if (sysctl.Count > 0)
            linux["sysctl"] = sysctl;
#pragma warning disable CS0612 // the deprecated field is still honoured, as containerd does
        var seccompPath = security?.SeccompProfilePath;
#pragma warning restore CS0612
        var seccomp = SeccompProfiles.Resolve(
            security?.Seccomp, seccompPath, security?.Privileged == true, capabilities,
            input.Architecture, input.ReadSeccompProfile, what);
        if (seccomp is not null)
            linux["seccomp"] = seccomp;

        var spec = new JsonObject
        {
            ["ociVersion"] = RuntimeSpec.OciVersion,
            ["process"] = process,
            ["root"] = new JsonObject { ["path"] = SpecParts.RootfsPath, ["readonly"] = true },
        };
        if (!hostNetwork && config.Hostname.Length > 0)
            spec["hostname"] = config.Hostname;
        spec["mounts"] = new JsonArray([.. mounts]);
        spec["annotations"] = Annotations(input);
        spec["linux"] = linux;
        return spec;
    }

    private static JsonObject Annotations(SandboxSpecInput input)
    {
        var config = input.Config;
        var annotations = new JsonObject();
        if (config.Linux?.Resources is { } resources)
        {
            annotations[CriAnnotations.SandboxCpuPeriod] = Number(resources.CpuPeriod);
            annotations[CriAnnotations.SandboxCpuQuota] = Number(resources.CpuQuota);
            annotations[CriAnnotations.SandboxCpuShares] = Number(resources.CpuShares);
            annotations[CriAnnotations.SandboxMemory] = Number(resources.MemoryLimitInBytes);
        }
        annotations[CriAnnotations.ContainerType] = CriAnnotations.ContainerTypeSandbox;
        annotations[CriAnnotations.SandboxId] = input.Id;
        annotations[CriAnnotations.SandboxNamespace] = config.Metadata?.Namespace ?? "";
        annotations[CriAnnotations.SandboxUid] = config.Metadata?.Uid ?? "";
        annotations[CriAnnotations.SandboxName] = config.Metadata?.Name ?? "";
        annotations[CriAnnotations.SandboxLogDirectory] = config.LogDirectory;
        return annotations;
    }

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);
}
