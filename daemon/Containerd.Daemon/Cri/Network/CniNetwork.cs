using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;

namespace Containerd.Daemon.Cri.Network;

/// <summary>
/// Attaches pod sandboxes to the CNI network and detaches them: what the CRI
/// sandbox code calls after creating the pod's network namespace and before
/// removing it. Like containerd (go-cni), every pod gets two attachments: the
/// built-in loopback network on <c>lo</c>, then the configured network (see
/// <see cref="CniConfigLoader"/>) on <c>eth0</c>. Calls for different sandboxes
/// may run concurrently; calls for one sandbox must not overlap.
/// </summary>
public sealed class CniNetwork
{
    /// <summary>The pod-side interface of the configured network.</summary>
    public const string DefaultInterfaceName = "eth0";

    /// <summary>The interface the loopback network configures.</summary>
    public const string LoopbackInterfaceName = "lo";

    private readonly ILogger<CniNetwork> _logger;
    private readonly CniConfigLoader _loader;
    private readonly CniPluginRunner _runner;
    private readonly CniResultCache _cache;

    public CniNetwork(CniOptions options, ILogger<CniNetwork> logger)
    {
        _logger = logger;
        _loader = new CniConfigLoader(options.ConfDir, logger);
        _runner = new CniPluginRunner(options.PluginDirs, options.PluginTimeout, logger);
        _cache = new CniResultCache(options.CacheDir);
    }

    /// <summary>CRI Status's NetworkReady condition: ready when the conf dir holds a valid network.</summary>
    public CniStatus Status() => _loader.Load().Status;

    /// <summary>The network pods are attached to now, or null when not ready (for verbose Status).</summary>
    public CniNetworkConfig? CurrentConfig() => _loader.Load().Config;

    /// <summary>
    /// Runs ADD for the loopback network (lo) and the configured network (eth0)
    /// in the pod's namespace and returns the pod's addresses. On failure it
    /// deletes what it added (DEL of both networks, best effort) and throws
    /// <see cref="CniException"/>; the caller need not tear down, though doing
    /// so is harmless.
    /// </summary>
    public async Task<PodNetwork> SetUpAsync(PodNetworkRequest request, CancellationToken cancellationToken)
    {
        Validate(request);
        var (config, status) = _loader.Load();
        if (config is null)
            throw new CniException(CniFailure.NotReady, $"cannot set up the network of sandbox {request.SandboxId}: cni plugin not initialized: {status.Detail}");

        var cniArgs = CniInvocation.CniArgs(request);
        var capabilityArgs = CniInvocation.CapabilityArgs(request);
        CniResult? podResult = null;
        try
        {
            foreach (var (network, ifName) in new[] { (CniNetworkConfig.Loopback, LoopbackInterfaceName), (config, DefaultInterfaceName) })
            {
                // Recorded before the first plugin runs: whatever ADD leaves, TearDown can delete it with this config.
                _cache.Write(request.SandboxId, ifName, new CniResultCache.Entry(network, cniArgs, capabilityArgs, null));
                var result = await AddAsync(network, request.SandboxId, request.NetnsPath, ifName, cniArgs, capabilityArgs, cancellationToken).ConfigureAwait(false);
                _cache.Write(request.SandboxId, ifName, new CniResultCache.Entry(network, cniArgs, capabilityArgs, result.Json));
                podResult = result;
            }
        }
        catch (Exception e) when (e is CniException or IOException or UnauthorizedAccessException or OperationCanceledException)
        {
            await RollBackAsync(request, e).ConfigureAwait(false);
            if (e is CniException or OperationCanceledException)
                throw;
            throw new CniException(CniFailure.PluginFailed, $"cannot set up the network of sandbox {request.SandboxId}: {e.Message}", config.Name, inner: e);
        }

        var ips = podResult!.PodIps(DefaultInterfaceName);
        _logger.LogInformation("sandbox {SandboxId} attached to CNI network {Network} on {Interface}: {Ips}",
            request.SandboxId, config.Name, DefaultInterfaceName, string.Join(", ", ips.Select(ip => ip.Cidr)));
        return new PodNetwork(DefaultInterfaceName, ips, podResult.Json.ToJsonString());
    }

    /// <summary>
    /// Runs DEL for the configured network and the loopback network, each
    /// plugin in reverse order with the cached ADD result as prevResult (spec
    /// 0.4.0 and later), so the IPAM plugin frees the pod's address. A namespace
    /// already gone is passed as an empty CNI_NETNS (plugins then only free what
    /// they hold on the host). Idempotent: tearing down a pod never set up, or
    /// twice, succeeds. Throws <see cref="CniException"/> when a plugin fails;
    /// what was not deleted stays cached, so a later TearDown retries it.
    /// </summary>
    public async Task TearDownAsync(PodNetworkRequest request, CancellationToken cancellationToken)
    {
        Validate(request);
        var netns = NetworkNamespace.Exists(request.NetnsPath) ? request.NetnsPath : "";
        if (netns.Length == 0)
            _logger.LogDebug("network namespace {Netns} of sandbox {SandboxId} is gone: deleting without it", request.NetnsPath, request.SandboxId);

        CniException? first = null;
        foreach (var ifName in new[] { DefaultInterfaceName, LoopbackInterfaceName })
        {
            try
            {
                await DeleteAttachmentAsync(request, netns, ifName, cancellationToken).ConfigureAwait(false);
            }
            catch (CniException e)
            {
                first ??= e;
            }
        }
        if (first is not null)
            throw first;
    }

    private async Task DeleteAttachmentAsync(PodNetworkRequest request, string netns, string ifName, CancellationToken cancellationToken)
    {
        CniResultCache.Entry? entry;
        try
        {
            entry = _cache.Read(request.SandboxId, ifName);
        }
        catch (FormatException e)
        {
            _logger.LogWarning("{Error}: deleting with the current configuration", e.Message);
            entry = null;
        }

        var network = entry?.Network ?? (ifName == LoopbackInterfaceName ? CniNetworkConfig.Loopback : _loader.Load().Config);
        if (network is null)
        {
            // Nothing cached means SetUp never ran for it (it writes the entry first) or TearDown finished already.
            _logger.LogDebug("sandbox {SandboxId} {Interface}: no attachment recorded and no CNI config: nothing to delete", request.SandboxId, ifName);
            return;
        }
        var cniArgs = entry?.CniArgs is { Length: > 0 } cached ? cached : CniInvocation.CniArgs(request);
        var capabilityArgs = entry?.CapabilityArgs is { Count: > 0 } saved ? saved : CniInvocation.CapabilityArgs(request);
        var prevResult = CniInvocation.DeleteTakesPrevResult(network.CniVersion) ? entry?.Result : null;

        await DeleteAsync(network, request.SandboxId, netns, ifName, cniArgs, capabilityArgs, prevResult, cancellationToken).ConfigureAwait(false);
        try
        {
            _cache.Delete(request.SandboxId, ifName);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _logger.LogWarning("cannot remove CNI cache entry {Path}: {Error}", _cache.PathOf(request.SandboxId, ifName), e.Message);
        }
        _logger.LogInformation("sandbox {SandboxId} detached from CNI network {Network} on {Interface}", request.SandboxId, network.Name, ifName);
    }

    private async Task<CniResult> AddAsync(CniNetworkConfig network, string containerId, string netns, string ifName,
        string cniArgs, IReadOnlyDictionary<string, JsonNode> capabilityArgs, CancellationToken cancellationToken)
    {
        CniResult? result = null;
        foreach (var plugin in network.Plugins)
        {
            var config = CniInvocation.PluginConfig(network, plugin, result?.Json, capabilityArgs);
            var output = await _runner.RunAsync("ADD", network.Name, config, containerId, netns, ifName, cniArgs, cancellationToken).ConfigureAwait(false);
            var type = plugin["type"]!.GetValue<string>();
            try
            {
                result = CniResult.Parse(output);
            }
            catch (FormatException e)
            {
                throw new CniException(CniFailure.InvalidResult,
                    $"plugin type=\"{type}\" network \"{network.Name}\" failed (add): its result is unreadable: {e.Message}", network.Name, type, inner: e);
            }
        }
        return result!;
    }

    private async Task DeleteAsync(CniNetworkConfig network, string containerId, string netns, string ifName, string cniArgs,
        IReadOnlyDictionary<string, JsonNode> capabilityArgs, JsonObject? prevResult, CancellationToken cancellationToken)
    {
        for (var i = network.Plugins.Count - 1; i >= 0; i--)
        {
            var config = CniInvocation.PluginConfig(network, network.Plugins[i], prevResult, capabilityArgs);
            try
            {
                await _runner.RunAsync("DEL", network.Name, config, containerId, netns, ifName, cniArgs, cancellationToken).ConfigureAwait(false);
            }
            catch (CniException e) when (IsAlreadyGone(e, netns))
            {
                // As go-cni: what is "not found" (or, without a namespace, "no such file") is deleted already.
                _logger.LogDebug("CNI DEL of sandbox {SandboxId} {Interface}: {Error} (already gone)", containerId, ifName, e.Message);
            }
        }
    }

    private static bool IsAlreadyGone(CniException e, string netns)
    {
        if (e.Failure != CniFailure.PluginFailed)
            return false;
        var said = $"{e.PluginMessage} {e.Details}";
        return said.Contains("not found", StringComparison.Ordinal)
            || (netns.Length == 0 && said.Contains("no such file or directory", StringComparison.Ordinal));
    }

    private async Task RollBackAsync(PodNetworkRequest request, Exception cause)
    {
        _logger.LogWarning("setting up the network of sandbox {SandboxId} failed, deleting what was added: {Error}", request.SandboxId, cause.Message);
        try
        {
            // Not the caller's token: it may be what was cancelled, and the plugins' own timeout bounds this.
            await TearDownAsync(request, CancellationToken.None).ConfigureAwait(false);
        }
        catch (CniException e)
        {
            _logger.LogError("could not delete the partial network of sandbox {SandboxId} (a later TearDown retries): {Error}", request.SandboxId, e.Message);
        }
    }

    private static void Validate(PodNetworkRequest request)
    {
        if (!CniNetworkConfig.IsValidName(request.SandboxId))
            throw new CniException(CniFailure.InvalidRequest, $"invalid sandbox id \"{request.SandboxId}\" for CNI (letters, digits, '_', '.', '-', starting with a letter or digit)");
    }
}
