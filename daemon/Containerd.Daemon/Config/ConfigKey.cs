namespace Containerd.Daemon.Config;

/// <summary>One key of the configuration file: how it is written, read and documented.</summary>
/// <param name="Name">The full dotted name, e.g. <c>timeouts.shim_ready</c>.</param>
/// <param name="Comment">What it means, printed above it by <c>containerd config default</c>.</param>
/// <param name="Literal">The TOML literal of the key's value in a configuration.</param>
/// <param name="Apply">Returns the configuration with the key set from a value of the file.</param>
public sealed record ConfigKey(
    string Name,
    string Comment,
    Func<DaemonConfig, string> Literal,
    Func<DaemonConfig, ConfigValue, DaemonConfig> Apply)
{
    /// <summary>The table the key belongs to ("" for top-level keys).</summary>
    public string Table => Name.LastIndexOf('.') is var dot and >= 0 ? Name[..dot] : "";

    /// <summary>The name within its table.</summary>
    public string LocalName => Name[(Name.LastIndexOf('.') + 1)..];
}
