using Containerd.Shared.Oci;
using Runtime.V1;

namespace Containerd.Daemon.Cri.Specs;

/// <summary>What <see cref="SandboxSpec.Build"/> needs for a pod's sandbox (pause) container.</summary>
/// <param name="Id">The sandbox id (also the container id of the pause container).</param>
/// <param name="Config">The kubelet's RunPodSandbox config.</param>
/// <param name="Image">The sandbox image's config (its entrypoint + cmd is the process).</param>
/// <param name="Files">Host paths of the sandbox's files; only shm and resolv.conf are mounted here.</param>
/// <param name="NetworkNamespacePath">The pod's network namespace (e.g. /var/run/netns/cni-…); null with host network.</param>
/// <param name="User">The resolved user: resolve <see cref="SpecUser.Requested"/>(null, run_as_user, run_as_group, image user).</param>
public sealed record SandboxSpecInput(
    string Id,
    PodSandboxConfig Config,
    ImageConfig Image,
    SandboxFiles Files,
    string? NetworkNamespacePath,
    SpecUser User)
{
    /// <summary>Reads a <c>Localhost</c> seccomp profile (an absolute host path) as JSON bytes; null: Localhost is refused.</summary>
    public Func<string, byte[]>? ReadSeccompProfile { get; init; }

    /// <summary>
    /// The lowest oom_score_adj the spec may ask for (containerd's restrict_oom_score_adj);
    /// null: none. Give <see cref="OomScoreFloor.ForThisProcess"/> so that runc does not fail where the daemon cannot lower scores.
    /// </summary>
    public int? OomScoreAdjFloor { get; init; }

    /// <summary>The architecture the default seccomp profile is made for.</summary>
    public System.Runtime.InteropServices.Architecture Architecture { get; init; } =
        System.Runtime.InteropServices.RuntimeInformation.OSArchitecture;
}
