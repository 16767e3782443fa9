using Containerd.Daemon.Config;
using Microsoft.Extensions.Logging;

namespace Containerd.Daemon.Hosting;

/// <summary>
/// The daemon's settings once the configuration file was read, the command line
/// applied over it and paths were resolved.
/// </summary>
/// <param name="Address">The unix socket clients connect to.</param>
/// <param name="Root">Persistent data (the metadata database, the content store).</param>
/// <param name="State">Runtime data: bundles, shim sockets, runc state. Lost on reboot, like the tasks.</param>
/// <param name="Runtime">The runc binary tasks use by default.</param>
/// <param name="Shim">The shim binary, or null when none was found (Tasks.Create then fails clearly).</param>
/// <param name="LogLevelName">The level as given on the command line, passed on to shims.</param>
/// <param name="CrashAt">Test-only: the Create step at which the daemon kills itself (<see cref="CrashPoints"/>).</param>
/// <param name="HoldAt">Test-only: the Create step at which a Create waits until the daemon stops (<see cref="CrashPoints"/>).</param>
public sealed record DaemonOptions(
    string Address,
    string Root,
    string State,
    string Runtime,
    string? Shim,
    LogLevel LogLevel,
    string LogLevelName,
    string? CrashAt = null,
    string? HoldAt = null)
{
    /// <summary>The <c>[timeouts]</c> of the configuration file (defaults when there is none).</summary>
    public DaemonTimeouts Timeouts { get; init; } = DaemonTimeouts.Default;

    /// <summary>The directory of per-registry <c>hosts.toml</c> files (<c>registry.config_path</c>).</summary>
    public string RegistryConfigPath { get; init; } = DaemonConfig.Default.RegistryConfigPath;

    /// <summary>The <c>[cri]</c> table (defaults when there is none).</summary>
    public CriConfig Cri { get; init; } = CriConfig.Default;

    /// <summary>The configuration file that was read, or null when the default one is absent.</summary>
    public string? ConfigFile { get; init; }

    public string MetadataDatabase => Path.Combine(Root, "meta.db");

    /// <summary>The content store: <c>blobs/sha256/</c> and <c>ingest/</c>.</summary>
    public string ContentRoot => Path.Combine(Root, "content");

    /// <summary>The overlay snapshotter: <c>metadata.db</c> and <c>snapshots/ID/{fs,work}</c>.</summary>
    public string OverlaySnapshotsRoot => Path.Combine(Root, "snapshots", "overlayfs");

    /// <summary>The CRI adapter's persistent files: per sandbox its hostname, hosts and resolv.conf.</summary>
    public string CriRoot => Path.Combine(Root, "cri");

    /// <summary>The CRI adapter's runtime files: per sandbox its /dev/shm mount, the CNI result cache.</summary>
    public string CriState => Path.Combine(State, "cri");
}
