using System.CommandLine;
using Containerd.Daemon.Config;

namespace Containerd.Daemon.Hosting;

/// <summary>
/// The flags given on the command line; null for each one left out, so that it
/// leaves the configuration file's value (or the built-in default) alone.
/// </summary>
public sealed record DaemonFlags(
    string? Config,
    string? Address,
    string? Root,
    string? State,
    string? Runtime,
    string? Shim,
    string? LogLevel)
{
    public static DaemonFlags From(ParseResult parse) => new(
        Config: parse.GetValue<string?>("--config"),
        Address: parse.GetValue<string?>("--address"),
        Root: parse.GetValue<string?>("--root"),
        State: parse.GetValue<string?>("--state"),
        Runtime: parse.GetValue<string?>("--runtime"),
        Shim: parse.GetValue<string?>("--shim"),
        LogLevel: parse.GetValue<string?>("--log-level"));

    /// <summary>The file's settings with every given flag put over them: flags win.</summary>
    public DaemonConfig ApplyTo(DaemonConfig file) => file with
    {
        Address = Address ?? file.Address,
        Root = Root ?? file.Root,
        State = State ?? file.State,
        Runtime = Runtime ?? file.Runtime,
        Shim = Shim ?? file.Shim,
        LogLevel = LogLevel ?? file.LogLevel,
    };
}
