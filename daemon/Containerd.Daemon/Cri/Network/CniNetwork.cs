using Microsoft.Extensions.Logging;

namespace Containerd.Daemon.Cri.Network;

/// <summary>
/// Attaches pod sandboxes to the CNI network and detaches them: what the CRI
/// sandbox code calls after creating the pod's network namespace and before
/// removing it. Like containerd (go-cni), every pod gets two attachments: the
/// built-in loopback network on <c>lo</c>, then the configured network (see
/// <see cref="CniConfigLoader"/>) on <c>eth0</c>.
/// </summary>
public sealed class CniNetwork
{
    /// <summary>The pod-side interface of the configured network.</summary>
    public const string DefaultInterfaceName = "eth0";

    /// <summary>The interface the loopback network configures.</summary>
    public const string LoopbackInterfaceName = "lo";

    private readonly CniOptions _options;
    private readonly ILogger<CniNetwork> _logger;
    private readonly CniConfigLoader _loader;

    public CniNetwork(CniOptions options, ILogger<CniNetwork> logger)
    {
        _options = options;
        _logger = logger;
        _loader = new CniConfigLoader(options.ConfDir, logger);
    }

    /// <summary>CRI Status's NetworkReady condition: ready when the conf dir holds a valid network.</summary>
    public CniStatus Status() => _loader.Load().Status;

    /// <summary>
    /// Runs ADD for the loopback network (lo) and the configured network (eth0)
    /// in the pod's namespace and returns the pod's addresses. On failure it
    /// deletes what it added (DEL of both networks, best effort) and throws
    /// <see cref="CniException"/>; the caller need not tear down, though doing
    /// so is harmless.
    /// </summary>
    public Task<PodNetwork> SetUpAsync(PodNetworkRequest request, CancellationToken cancellationToken) =>
        throw new NotImplementedException();

    /// <summary>
    /// Runs DEL for the configured network and the loopback network, each
    /// plugin in reverse order with the cached ADD result as prevResult, so the
    /// IPAM plugin frees the pod's address. A namespace already gone is passed
    /// as an empty CNI_NETNS (plugins then only free what they hold on the host).
    /// Idempotent: tearing down a pod never set up, or twice, succeeds.
    /// Throws <see cref="CniException"/> when a plugin fails.
    /// </summary>
    public Task TearDownAsync(PodNetworkRequest request, CancellationToken cancellationToken) =>
        throw new NotImplementedException();
}
