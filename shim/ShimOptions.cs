using Containerd.Shared.Identifiers;
using Microsoft.Extensions.Logging;

namespace Containerd.Shim;

/// <summary>
/// The command line:
/// <c>containerd-shim --namespace NS --id ID --bundle DIR --socket PATH --runtime RUNC --runtime-root DIR [--log-level LEVEL]</c>.
/// Parsed by hand: the set is fixed and small, and a parser library would cost start-up time in every shim.
/// </summary>
internal sealed record ShimOptions(
    string Namespace,
    string Id,
    string Bundle,
    string Socket,
    string Runtime,
    string RuntimeRoot,
    LogLevel LogLevel)
{
    // sun_path holds 108 bytes including the terminating NUL.
    private const int MaxSocketPath = 107;

    public const string Usage =
        "usage: containerd-shim --namespace NS --id ID --bundle DIR --socket PATH --runtime RUNC --runtime-root DIR [--log-level debug|info|warning|error]";

    public string PidFile => Path.Combine(Bundle, "shim.pid");

    public string LogFile => Path.Combine(Bundle, "shim.log");

    /// <exception cref="ArgumentException">The command line is wrong; the message says how.</exception>
    public static ShimOptions Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            string name;
            string value;
            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            if (arg.StartsWith("--", StringComparison.Ordinal) && equals > 0)
            {
                name = arg[2..equals];
                value = arg[(equals + 1)..];
            }
            else if (arg.StartsWith("--", StringComparison.Ordinal) && i + 1 < args.Length)
            {
                name = arg[2..];
                value = args[++i];
            }
            else
            {
                throw new ArgumentException($"unexpected argument \"{arg}\"");
            }
            if (name is not ("namespace" or "id" or "bundle" or "socket" or "runtime" or "runtime-root" or "log-level"))
                throw new ArgumentException($"unknown option --{name}");
            values[name] = value;
        }

        string Required(string name) =>
            values.TryGetValue(name, out var v) && v.Length > 0 ? v : throw new ArgumentException($"--{name} is required");

        var ns = Required("namespace");
        var id = Required("id");
        if (Identifier.Problem("namespace", ns) is { } nsProblem)
            throw new ArgumentException(nsProblem);
        if (Identifier.Problem("container id", id) is { } idProblem)
            throw new ArgumentException(idProblem);

        var bundle = Path.TrimEndingDirectorySeparator(Path.GetFullPath(Required("bundle")));
        if (!Directory.Exists(bundle))
            throw new ArgumentException($"bundle directory {bundle} does not exist");
        var socket = Path.GetFullPath(values.GetValueOrDefault("socket") is { Length: > 0 } s
            ? s
            : Path.Combine(bundle, "shim.sock"));
        if (System.Text.Encoding.UTF8.GetByteCount(socket) > MaxSocketPath)
            throw new ArgumentException($"socket path {socket} is longer than {MaxSocketPath} bytes");

        var runtime = values.GetValueOrDefault("runtime") is { Length: > 0 } r ? r : "runc";
        var runtimeRoot = Path.GetFullPath(Required("runtime-root"));
        var level = ParseLevel(values.GetValueOrDefault("log-level") ?? "info");
        return new ShimOptions(ns, id, bundle, socket, runtime, runtimeRoot, level);
    }

    private static LogLevel ParseLevel(string name) => name.ToLowerInvariant() switch
    {
        "trace" => LogLevel.Trace,
        "debug" => LogLevel.Debug,
        "info" or "information" => LogLevel.Information,
        "warn" or "warning" => LogLevel.Warning,
        "error" => LogLevel.Error,
        "fatal" or "panic" or "critical" => LogLevel.Critical,
        _ => throw new ArgumentException($"unknown log level \"{name}\": use debug, info, warning or error"),
    };
}
