using Runtime.V1;

namespace Containerd.Daemon.Cri.Sandboxes;

/// <summary>Which of the host's namespaces a pod shares (NamespaceMode NODE), read once from its config.</summary>
public static class SandboxNamespaces
{
    public static bool HostNetwork(PodSandboxConfig config) => Options(config)?.Network == NamespaceMode.Node;

    public static bool HostIpc(PodSandboxConfig config) => Options(config)?.Ipc == NamespaceMode.Node;

    public static bool HostPid(PodSandboxConfig config) => Options(config)?.Pid == NamespaceMode.Node;

    private static NamespaceOption? Options(PodSandboxConfig config) => config.Linux?.SecurityContext?.NamespaceOptions;
}
