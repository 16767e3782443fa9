using System.CommandLine;
using Microsoft.Extensions.Logging;

namespace Containerd.Daemon.Hosting;

/// <summary>The command line of the daemon.</summary>
public static class DaemonCommand
{
    // Defaults differ from a real containerd's (/run/containerd, /var/lib/containerd)
    // so both can run on one host.
    public const string DefaultAddress = "/run/containerd-cs/containerd.sock";
    public const string DefaultRoot = "/var/lib/containerd-cs";
    public const string DefaultState = "/run/containerd-cs";
    public const string ShimName = "containerd-shim";

    private static readonly string[] LevelNames = ["debug", "info", "warning", "error"];

    public static RootCommand Create()
    {
        var address = new Option<string>("--address", "-a")
        {
            Description = "Unix socket the gRPC API listens on",
            DefaultValueFactory = _ => DefaultAddress,
        };
        var root = new Option<string>("--root")
        {
            Description = "Directory for persistent data (metadata database)",
            DefaultValueFactory = _ => DefaultRoot,
        };
        var state = new Option<string>("--state")
        {
            Description = "Directory for runtime data (task bundles, shim sockets, runc state)",
            DefaultValueFactory = _ => DefaultState,
        };
        var runtime = new Option<string>("--runtime")
        {
            Description = "OCI runtime binary used for the default runtime (resolved on PATH)",
            DefaultValueFactory = _ => "runc",
        };
        var shim = new Option<string?>("--shim")
        {
            Description = $"Shim binary (default: {ShimName} beside this executable, else on PATH)",
        };
        var logLevel = new Option<string>("--log-level")
        {
            Description = "Log level: debug, info, warning or error",
            DefaultValueFactory = _ => "info",
        };
        logLevel.AcceptOnlyFromAmong(LevelNames);

        var command = new RootCommand("containerd (C#): runs OCI containers through runc, one shim per task")
        {
            address, root, state, runtime, shim, logLevel,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var levelName = parse.GetValue(logLevel) ?? "info";
            var runtimeName = parse.GetValue(runtime) ?? "runc";
            var options = new DaemonOptions(
                Address: Path.GetFullPath(parse.GetValue(address) ?? DefaultAddress),
                Root: Path.GetFullPath(parse.GetValue(root) ?? DefaultRoot),
                State: Path.GetFullPath(parse.GetValue(state) ?? DefaultState),
                Runtime: ExecutableLookup.Find(runtimeName) ?? runtimeName,
                Shim: ResolveShim(parse.GetValue(shim)),
                LogLevel: ParseLevel(levelName),
                LogLevelName: levelName,
                CrashAt: Environment.GetEnvironmentVariable(CrashPoints.EnvironmentVariable) is { Length: > 0 } step ? step : null,
                HoldAt: Environment.GetEnvironmentVariable(CrashPoints.HoldEnvironmentVariable) is { Length: > 0 } hold ? hold : null);
            if (options.CrashAt is { } crashAt && !CrashPoints.All.Contains(crashAt))
            {
                await Console.Error.WriteLineAsync(
                    $"containerd: {CrashPoints.EnvironmentVariable}={crashAt} is not one of {string.Join(", ", CrashPoints.All)}").ConfigureAwait(false);
                return 2;
            }
            if (options.HoldAt is { } holdAt && !CrashPoints.Holdable.Contains(holdAt))
            {
                await Console.Error.WriteLineAsync(
                    $"containerd: {CrashPoints.HoldEnvironmentVariable}={holdAt} is not one of {string.Join(", ", CrashPoints.Holdable)}").ConfigureAwait(false);
                return 2;
            }
            return await DaemonHost.RunAsync(options, cancellationToken).ConfigureAwait(false);
        });
        return command;
    }

    private static string? ResolveShim(string? given)
    {
        if (!string.IsNullOrEmpty(given))
            return ExecutableLookup.Find(given) ?? Path.GetFullPath(given);
        return ExecutableLookup.Find(Path.Combine(AppContext.BaseDirectory, ShimName)) ?? ExecutableLookup.Find(ShimName);
    }

    private static LogLevel ParseLevel(string name) => name switch
    {
        "debug" => LogLevel.Debug,
        "warning" => LogLevel.Warning,
        "error" => LogLevel.Error,
        _ => LogLevel.Information,
    };
}
