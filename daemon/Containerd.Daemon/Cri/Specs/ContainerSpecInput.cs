using Containerd.Shared.Oci;
using Runtime.V1;

namespace Containerd.Daemon.Cri.Specs;

/// <summary>What <see cref="ContainerSpec.Build"/> needs for a container in a pod.</summary>
/// <param name="Id">The container id.</param>
/// <param name="SandboxId">The pod's sandbox id.</param>
/// <param name="Config">The kubelet's CreateContainer config.</param>
/// <param name="SandboxConfig">The pod's RunPodSandbox config (hostname, namespaces, cgroup parent, sysctls, metadata).</param>
/// <param name="Image">The container image's config.</param>
/// <param name="ImageName">The image name for the <c>io.kubernetes.cri.image-name</c> annotation (as the kubelet asked for it).</param>
/// <param name="SandboxPid">The sandbox's init pid: its namespaces are joined through <c>/proc/PID/ns/…</c>.</param>
/// <param name="SandboxFiles">Host paths of the sandbox's hostname, hosts, resolv.conf and shm.</param>
/// <param name="User">The resolved user: resolve <see cref="SpecUser.Requested"/>(run_as_username, run_as_user, run_as_group, image user).</param>
/// <param name="LookupDevice">Stats a host device path (symlinks followed); throws (e.g. FileNotFoundException) when it is not a device.</param>
public sealed record ContainerSpecInput(
    string Id,
    string SandboxId,
    ContainerConfig Config,
    PodSandboxConfig SandboxConfig,
    ImageConfig Image,
    string ImageName,
    uint SandboxPid,
    SandboxFiles SandboxFiles,
    SpecUser User,
    Func<string, DeviceInfo> LookupDevice)
{
    /// <summary>
    /// The init pid of a container in the same pod, for pid namespace mode TARGET;
    /// throws <see cref="SpecException"/> (NotFound) for an unknown container. Null: TARGET is refused.
    /// </summary>
    public Func<string, uint>? TargetPid { get; init; }

    /// <summary>The capabilities a container has before add/drop: containerd's default set.</summary>
    public IReadOnlyList<string> DefaultCapabilities { get; init; } = Capabilities.Default;

    /// <summary>What <c>ALL</c> and privileged mean: every capability the daemon holds (default: all known to Linux 6.x).</summary>
    public IReadOnlyList<string> AllCapabilities { get; init; } = Capabilities.All;

    /// <summary>Reads a <c>Localhost</c> seccomp profile (an absolute host path) as JSON bytes; null: Localhost is refused.</summary>
    public Func<string, byte[]>? ReadSeccompProfile { get; init; }

    /// <summary>
    /// True on a cgroup v2 host: a non-privileged container gets a cgroup
    /// namespace of its own, as containerd does (its /sys/fs/cgroup shows only its cgroup).
    /// </summary>
    public bool CgroupNamespace { get; init; }

    /// <summary>
    /// True when the host's memory cgroup can limit swap (cgroup v1
    /// memory.memsw.limit_in_bytes, v2 memory.swap.max): then a memory limit
    /// without a swap limit caps swap at the limit too, as containerd. False
    /// leaves swap out of the spec (runc fails writing a swap limit the host cannot take).
    /// </summary>
    public bool SwapLimitSupported { get; init; }

    /// <summary>The node's hostname, for <c>HOSTNAME</c> when the pod config has none (host network).</summary>
    public string? NodeHostname { get; init; }

    /// <summary>
    /// The lowest oom_score_adj the spec may ask for (containerd's restrict_oom_score_adj);
    /// null: none. Give <see cref="OomScoreFloor.ForThisProcess"/> so that runc does not fail where the daemon cannot lower scores.
    /// </summary>
    public int? OomScoreAdjFloor { get; init; }

    /// <summary>The architecture the default seccomp profile is made for.</summary>
    public System.Runtime.InteropServices.Architecture Architecture { get; init; } =
        System.Runtime.InteropServices.RuntimeInformation.OSArchitecture;
}
