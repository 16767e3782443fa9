namespace Containerd.Daemon.Cri.Network;

/// <summary>
/// A CNI operation failed. The message names the operation, the network, the
/// plugin and, for a plugin's own error, its msg and details, e.g.
/// <c>plugin type="bridge" network "mynet" failed (add): could not allocate IP: no IP addresses available (code 11)</c>.
/// </summary>
public sealed class CniException : Exception
{
    public CniException(CniFailure failure, string message, string? network = null, string? plugin = null,
        int? code = null, string? pluginMessage = null, string? details = null, Exception? inner = null)
        : base(message, inner)
    {
        Failure = failure;
        Network = network;
        Plugin = plugin;
        Code = code;
        PluginMessage = pluginMessage;
        Details = details;
    }

    public CniFailure Failure { get; }

    /// <summary>The network (config list name) being set up or torn down.</summary>
    public string? Network { get; }

    /// <summary>The plugin type (binary name) that failed.</summary>
    public string? Plugin { get; }

    /// <summary>The CNI error code the plugin reported (spec: 1-99 well-known, 100+ plugin-specific).</summary>
    public int? Code { get; }

    /// <summary>The plugin's own msg.</summary>
    public string? PluginMessage { get; }

    /// <summary>The plugin's own details.</summary>
    public string? Details { get; }
}
