using Containerd.Shared.Bundles;
using Containerd.Shared.Identifiers;
using Level = Microsoft.Extensions.Logging.LogLevel;

namespace Containerd.Shim;

/// <summary>
/// The <c>--name value</c> / <c>--name=value</c> options both forms of the
/// shim's command line share, parsed by hand: the sets are fixed and small,
/// and a parser library would cost start-up time in every shim.
/// </summary>
internal static class CommandLine
{
    /// <exception cref="ArgumentException">An unknown option or a stray argument; the message names it.</exception>
    public static Dictionary<string, string> Parse(IReadOnlyList<string> args, params string[] known)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i++)
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
            else if (arg.StartsWith("--", StringComparison.Ordinal) && i + 1 < args.Count)
            {
                name = arg[2..];
                value = args[++i];
            }
            else
            {
                throw new ArgumentException($"unexpected argument \"{arg}\"");
            }
            if (Array.IndexOf(known, name) < 0)
                throw new ArgumentException($"unknown option --{name}");
            values[name] = value;
        }
        return values;
    }

    public static string Required(Dictionary<string, string> values, string name) =>
        values.TryGetValue(name, out var v) && v.Length > 0 ? v : throw new ArgumentException($"--{name} is required");

    /// <summary>--namespace and --id, both required and valid identifiers.</summary>
    public static (string Namespace, string Id) Identity(Dictionary<string, string> values)
    {
        var ns = Required(values, "namespace");
        var id = Required(values, "id");
        if (Identifier.Problem("namespace", ns) is { } nsProblem)
            throw new ArgumentException(nsProblem);
        if (Identifier.Problem("container id", id) is { } idProblem)
            throw new ArgumentException(idProblem);
        return (ns, id);
    }

    /// <summary>--bundle, which must name an existing directory.</summary>
    public static TaskBundle ExistingBundle(Dictionary<string, string> values)
    {
        var bundle = new TaskBundle(Required(values, "bundle"));
        if (!Directory.Exists(bundle.Directory))
            throw new ArgumentException($"bundle directory {bundle.Directory} does not exist");
        return bundle;
    }

    /// <summary>--log-level, info when absent.</summary>
    public static Level LogLevel(Dictionary<string, string> values) => (values.GetValueOrDefault("log-level") ?? "info").ToLowerInvariant() switch
    {
        "trace" => Level.Trace,
        "debug" => Level.Debug,
        "info" or "information" => Level.Information,
        "warn" or "warning" => Level.Warning,
        "error" => Level.Error,
        "fatal" or "panic" or "critical" => Level.Critical,
        var name => throw new ArgumentException($"unknown log level \"{name}\": use debug, info, warning or error"),
    };
}
