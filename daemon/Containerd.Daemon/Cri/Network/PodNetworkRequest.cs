namespace Containerd.Daemon.Cri.Network;

/// <summary>
/// What <see cref="CniNetwork"/> needs to attach a pod sandbox to the network
/// or detach it: the same request serves SetUp and TearDown.
/// </summary>
/// <param name="SandboxId">The sandbox id (CNI_CONTAINERID, K8S_POD_INFRA_CONTAINER_ID); letters, digits, '_', '.', '-'.</param>
/// <param name="NetnsPath">The pod's network namespace (<see cref="NetworkNamespace.Create"/>); at teardown it may be gone already.</param>
/// <param name="PodName">CRI PodSandboxMetadata.name (K8S_POD_NAME).</param>
/// <param name="PodNamespace">CRI PodSandboxMetadata.namespace (K8S_POD_NAMESPACE).</param>
/// <param name="PodUid">CRI PodSandboxMetadata.uid (K8S_POD_UID).</param>
/// <param name="PortMappings">Ports to publish through plugins with the portMappings capability; null: none.</param>
public sealed record PodNetworkRequest(
    string SandboxId,
    string NetnsPath,
    string PodName,
    string PodNamespace,
    string PodUid,
    IReadOnlyList<PortMapping>? PortMappings = null);
