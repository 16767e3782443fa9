using System.CommandLine;
using Containerd.Daemon.Config;
using Microsoft.Extensions.Logging;

namespace Containerd.Daemon.Hosting;

/// <summary>
/// The command line of the daemon. Settings come from built-in defaults, then the
/// configuration file, then flags: a flag given on the command line always wins.
/// </summary>
public static class DaemonCommand
{
    public const string ShimName = "containerd-shim";

    // Exit code for a configuration the daemon refuses (file or environment), as for bad flags.
    private const int ConfigError = 2;

    public static RootCommand Create()
    {
        var defaults = DaemonConfig.Default;
        var config = new Option<string?>("--config", "-c")
        {
            Description = $"Configuration file (default {DaemonConfig.DefaultPath}; that one may be absent)",
        };
        // No defaults on the flags: an absent flag leaves the file's value (or the built-in default).
        var address = new Option<string?>("--address", "-a")
        {
            Description = $"Unix socket the gRPC API listens on (default {defaults.Address})",
        };
        var root = new Option<string?>("--root")
        {
            Description = $"Directory for persistent data (metadata database) (default {defaults.Root})",
        };
        var state = new Option<string?>("--state")
        {
            Description = $"Directory for runtime data (task bundles, shim sockets, runc state) (default {defaults.State})",
        };
        var runtime = new Option<string?>("--runtime")
        {
            Description = $"OCI runtime binary used for the default runtime (resolved on PATH) (default {defaults.Runtime})",
        };
        var shim = new Option<string?>("--shim")
        {
            Description = $"Shim binary (default: {ShimName} beside this executable, else on PATH)",
        };
        var logLevel = new Option<string?>("--log-level")
        {
            Description = $"Log level: debug, info, warning or error (default {defaults.LogLevel})",
        };
        logLevel.AcceptOnlyFromAmong([.. DaemonConfig.LogLevels]);

        var command = new RootCommand("containerd (C#): runs OCI containers through runc, one shim per task")
        {
            config, address, root, state, runtime, shim, logLevel,
        };
        command.Subcommands.Add(ConfigCommand());
        command.SetAction(async (parse, cancellationToken) =>
        {
            var flags = DaemonFlags.From(parse);
            var configPath = Path.GetFullPath(flags.Config ?? DaemonConfig.DefaultPath);
            DaemonConfig settings;
            try
            {
                var file = await ConfigFile.LoadAsync(configPath, required: flags.Config is not null, cancellationToken).ConfigureAwait(false);
                settings = flags.ApplyTo(file);
            }
            catch (ConfigFileException e)
            {
                await Console.Error.WriteLineAsync($"containerd: {e.Message}").ConfigureAwait(false);
                return ConfigError;
            }

            var options = new DaemonOptions(
                Address: Path.GetFullPath(settings.Address),
                Root: Path.GetFullPath(settings.Root),
                State: Path.GetFullPath(settings.State),
                Runtime: ExecutableLookup.Find(settings.Runtime) ?? settings.Runtime,
                Shim: ResolveShim(settings.Shim),
                LogLevel: ParseLevel(settings.LogLevel),
                LogLevelName: settings.LogLevel,
                CrashAt: Environment.GetEnvironmentVariable(CrashPoints.EnvironmentVariable) is { Length: > 0 } step ? step : null,
                HoldAt: Environment.GetEnvironmentVariable(CrashPoints.HoldEnvironmentVariable) is { Length: > 0 } hold ? hold : null)
            {
                Timeouts = settings.Timeouts,
                RegistryConfigPath = settings.RegistryConfigPath,
                Cri = settings.Cri,
                ConfigFile = File.Exists(configPath) ? configPath : null,
            };
            if (options.CrashAt is { } crashAt && !CrashPoints.All.Contains(crashAt))
            {
                await Console.Error.WriteLineAsync(
                    $"containerd: {CrashPoints.EnvironmentVariable}={crashAt} is not one of {string.Join(", ", CrashPoints.All)}").ConfigureAwait(false);
                return ConfigError;
            }
            if (options.HoldAt is { } holdAt && !CrashPoints.Holdable.Contains(holdAt))
            {
                await Console.Error.WriteLineAsync(
                    $"containerd: {CrashPoints.HoldEnvironmentVariable}={holdAt} is not one of {string.Join(", ", CrashPoints.Holdable)}").ConfigureAwait(false);
                return ConfigError;
            }
            return await DaemonHost.RunAsync(options, cancellationToken).ConfigureAwait(false);
        });
        return command;
    }

    /// <summary><c>containerd config default</c>: the full default file, to start an operator's own from.</summary>
    private static Command ConfigCommand()
    {
        var printDefault = new Command("default", "Print the default configuration file (every key, its default and what it means)");
        printDefault.SetAction(async (_, cancellationToken) =>
        {
            await Console.Out.WriteAsync(ConfigFile.Render(DaemonConfig.Default).AsMemory(), cancellationToken).ConfigureAwait(false);
            await Console.Out.FlushAsync(cancellationToken).ConfigureAwait(false);
            return 0;
        });
        return new Command("config", "Information about the daemon's configuration file") { printDefault };
    }

    private static string? ResolveShim(string given)
    {
        if (given.Length > 0)
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
