namespace Containerd.Daemon.Cri.Network;

/// <summary>Where <see cref="CniNetwork"/> finds configuration and plugins and keeps its results.</summary>
public sealed record CniOptions
{
    /// <summary>containerd's default CNI configuration directory.</summary>
    public const string DefaultConfDir = "/etc/cni/net.d";

    /// <summary>containerd's default plugin directory, then Debian's (containernetworking-plugins).</summary>
    public static readonly IReadOnlyList<string> DefaultPluginDirs = ["/opt/cni/bin", "/usr/lib/cni"];

    /// <summary>Where the config list is read from on every call (first *.conf, *.conflist, *.json in lexical order).</summary>
    public string ConfDir { get; init; } = DefaultConfDir;

    /// <summary>Searched in order for a plugin binary; also the plugins' CNI_PATH.</summary>
    public IReadOnlyList<string> PluginDirs { get; init; } = DefaultPluginDirs;

    /// <summary>
    /// One file per attachment (network, sandbox, interface) with the config and
    /// the ADD result, so TearDown deletes with what SetUp added (libcni keeps
    /// the same in /var/lib/cni/results); e.g. ROOT/cni/results.
    /// </summary>
    public required string CacheDir { get; init; }

    /// <summary>How long one plugin run may take before it is killed.</summary>
    public TimeSpan PluginTimeout { get; init; } = TimeSpan.FromSeconds(60);
}
