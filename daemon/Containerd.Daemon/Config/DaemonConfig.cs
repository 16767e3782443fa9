namespace Containerd.Daemon.Config;

/// <summary>
/// The settings as the configuration file states them, before command-line flags
/// override them and before names are resolved on PATH.
/// </summary>
/// <param name="Address">The unix socket of the gRPC API (absolute).</param>
/// <param name="Root">Persistent data (absolute).</param>
/// <param name="State">Runtime data (absolute).</param>
/// <param name="Runtime">The runc binary: a path, or a name looked up on PATH.</param>
/// <param name="Shim">The shim binary; empty means containerd-shim beside the daemon, else on PATH.</param>
/// <param name="LogLevel">debug, info, warning or error.</param>
/// <param name="Timeouts">The <c>[timeouts]</c> table.</param>
/// <param name="RegistryConfigPath">The <c>[registry]</c> table's <c>config_path</c>: a directory of <c>REGISTRY/hosts.toml</c> files (may be absent).</param>
/// <param name="Cri">The <c>[cri]</c> table.</param>
public sealed record DaemonConfig(
    string Address,
    string Root,
    string State,
    string Runtime,
    string Shim,
    string LogLevel,
    DaemonTimeouts Timeouts,
    string RegistryConfigPath,
    CriConfig Cri)
{
    // Defaults differ from a real containerd's (/run/containerd, /var/lib/containerd)
    // so both can run on one host.
    public const string DefaultPath = "/etc/containerd-cs/config.toml";

    public static IReadOnlyList<string> LogLevels { get; } = ["debug", "info", "warning", "error"];

    public static DaemonConfig Default { get; } = new(
        Address: "/run/containerd-cs/containerd.sock",
        Root: "/var/lib/containerd-cs",
        State: "/run/containerd-cs",
        Runtime: "runc",
        Shim: "",
        LogLevel: "info",
        Timeouts: DaemonTimeouts.Default,
        RegistryConfigPath: "/etc/containerd-cs/certs.d",
        Cri: CriConfig.Default);
}
