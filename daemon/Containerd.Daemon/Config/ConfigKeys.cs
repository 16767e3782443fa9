namespace Containerd.Daemon.Config;

/// <summary>
/// Every key the configuration file may hold, in the order <c>containerd config default</c>
/// prints them. The one list drives parsing, the default file and the README's table, so a
/// key cannot be parsed without being documented or the other way round.
/// </summary>
public static class ConfigKeys
{
    public const string TimeoutsTable = "timeouts";
    public const string RegistryTable = "registry";
    public const string CriTable = "cri";

    public static IReadOnlyList<ConfigKey> All { get; } =
    [
        new("address", "Unix socket the gRPC API listens on (mode 0600). Flag: --address.",
            c => TomlLiteral.String(c.Address), (c, v) => c with { Address = v.AbsolutePath() }),
        new("root", "Persistent data: the metadata database meta.db. Flag: --root.",
            c => TomlLiteral.String(c.Root), (c, v) => c with { Root = v.AbsolutePath() }),
        new("state", "Runtime data: task bundles, shim sockets, runc state (lost on reboot, like the tasks). Flag: --state.",
            c => TomlLiteral.String(c.State), (c, v) => c with { State = v.AbsolutePath() }),
        new("runtime", "OCI runtime binary for tasks: a path, or a name looked up on PATH. Flag: --runtime.",
            c => TomlLiteral.String(c.Runtime), (c, v) => c with { Runtime = v.NonEmptyString() }),
        new("shim", "Shim binary: a path or a name on PATH; empty means containerd-shim beside the daemon, else on PATH. Flag: --shim.",
            c => TomlLiteral.String(c.Shim), (c, v) => c with { Shim = v.String() }),
        new("log_level", "debug, info, warning or error; shims log at the same level. Flag: --log-level.",
            c => TomlLiteral.String(c.LogLevel), (c, v) => c with { LogLevel = v.OneOf(DaemonConfig.LogLevels) }),

        Timeout("shim_ready", "How long a new shim has to report ready before Create fails.",
            t => t.ShimReady, (t, d) => t with { ShimReady = d }),
        Timeout("shim_shutdown", "How long the Shutdown call to a shim (task delete, daemon cleanup) may take.",
            t => t.ShimShutdown, (t, d) => t with { ShimShutdown = d }),
        Timeout("shim_exit", "How long a shim told to shut down has to exit before it is killed.",
            t => t.ShimExit, (t, d) => t with { ShimExit = d }),
        Timeout("shim_killed_exit", "How long a killed shim has to be reaped.",
            t => t.ShimKilledExit, (t, d) => t with { ShimKilledExit = d }),
        Timeout("shim_delete", "How long `containerd-shim delete` (cleanup after a dead shim: runc delete, unmount) may run.",
            t => t.ShimDelete, (t, d) => t with { ShimDelete = d }),
        Timeout("recovery_state", "At start-up, how long each shim found on disk has to answer State.",
            t => t.RecoveryState, (t, d) => t with { RecoveryState = d }),
        Timeout("recovery_create_wait", "At start-up, how long to wait for a shim a killed daemon left inside a Create.",
            t => t.RecoveryCreateWait, (t, d) => t with { RecoveryCreateWait = d }),
        Timeout("event_ack_interval", "How often published events are acknowledged to each shim (and the position saved).",
            t => t.EventAckInterval, (t, d) => t with { EventAckInterval = d }),
        Timeout("event_drain", "How long a deleted task's event stream may take to deliver what is still in flight.",
            t => t.EventDrain, (t, d) => t with { EventDrain = d }),
        Timeout("host_shutdown", "How long the daemon's own graceful stop (open calls and streams) may take on SIGTERM.",
            t => t.HostShutdown, (t, d) => t with { HostShutdown = d }),

        new($"{RegistryTable}.config_path",
            "Directory of per-registry REGISTRY/hosts.toml files (containerd's format: server, [host.\"URL\"] mirrors, skip_verify, ca); read at each pull, may be absent.",
            c => TomlLiteral.String(c.RegistryConfigPath), (c, v) => c with { RegistryConfigPath = v.AbsolutePath() }),

        new($"{CriTable}.sandbox_image",
            "Image of every pod sandbox (pause-like: holds the pod's namespaces), as containerd's sandbox_image. Required for RunPodSandbox.",
            c => TomlLiteral.String(c.Cri.SandboxImage), (c, v) => c with { Cri = c.Cri with { SandboxImage = v.String() } }),
        new($"{CriTable}.cni_bin_dir",
            "CNI plugin binaries: directories separated by ':', searched in order (Debian's containernetworking-plugins installs into /usr/lib/cni).",
            c => TomlLiteral.String(c.Cri.CniBinDir), (c, v) => c with { Cri = c.Cri with { CniBinDir = v.AbsolutePathList() } }),
        new($"{CriTable}.cni_conf_dir",
            "CNI network configuration: the first .conf, .conflist or .json file in lexical order is the pod network.",
            c => TomlLiteral.String(c.Cri.CniConfDir), (c, v) => c with { Cri = c.Cri with { CniConfDir = v.AbsolutePath() } }),
        new($"{CriTable}.netns_dir",
            "Where pod network namespaces are kept (bind mounts named cni-UUID).",
            c => TomlLiteral.String(c.Cri.NetnsDir), (c, v) => c with { Cri = c.Cri with { NetnsDir = v.AbsolutePath() } }),
    ];

    /// <summary>Tables the file may open; any other <c>[name]</c> is an error.</summary>
    public static IReadOnlyList<string> Tables { get; } = [TimeoutsTable, RegistryTable, CriTable];

    public static ConfigKey? Find(string name) => All.FirstOrDefault(k => k.Name == name);

    private static ConfigKey Timeout(
        string name, string comment, Func<DaemonTimeouts, TimeSpan> read, Func<DaemonTimeouts, TimeSpan, DaemonTimeouts> write) =>
        new($"{TimeoutsTable}.{name}", comment,
            c => TomlLiteral.String(Duration.Format(read(c.Timeouts))),
            (c, v) => c with { Timeouts = write(c.Timeouts, v.Duration()) });
}
