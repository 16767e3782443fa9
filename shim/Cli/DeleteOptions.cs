using Containerd.Shared.Bundles;
using Microsoft.Extensions.Logging;

namespace Containerd.Shim.Cli;

/// <summary>
/// <c>containerd-shim delete --namespace NS --id ID --bundle DIR --runtime-root DIR [--runtime RUNC] [--log-level L]</c>.
/// </summary>
/// <param name="Runtime">As given; null when the bundle's record (or runc) decides.</param>
internal sealed record DeleteOptions(string Namespace, string Id, TaskBundle Bundle, string RuntimeRoot, string? Runtime, LogLevel LogLevel)
{
    public const string DefaultRuntime = "runc";

    /// <exception cref="ArgumentException">The command line is wrong; the message says how.</exception>
    public static DeleteOptions Parse(IReadOnlyList<string> args)
    {
        var values = CommandLine.Parse(args, "namespace", "id", "bundle", "runtime", "runtime-root", "log-level");
        var (ns, id) = CommandLine.Identity(values);
        var bundle = CommandLine.ExistingBundle(values);
        var runtimeRoot = Path.GetFullPath(CommandLine.Required(values, "runtime-root"));
        var runtime = values.GetValueOrDefault("runtime") is { Length: > 0 } r ? r : null;
        return new DeleteOptions(ns, id, bundle, runtimeRoot, runtime, CommandLine.LogLevel(values));
    }

    /// <summary>--runtime if given, else the runtime the task was created with (recorded in the bundle), else runc.</summary>
    public string ResolveRuntime() => Runtime ?? Bundle.ReadRuntime() ?? DefaultRuntime;
}
