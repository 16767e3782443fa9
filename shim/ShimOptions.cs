using Containerd.Shared.Bundles;
using Microsoft.Extensions.Logging;

namespace Containerd.Shim;

/// <summary>
/// The server's command line:
/// <c>containerd-shim --namespace NS --id ID --bundle DIR --socket PATH --runtime RUNC --runtime-root DIR [--log-level LEVEL]</c>.
/// Parsed by hand: the set is fixed and small, and a parser library would cost start-up time in every shim.
/// </summary>
internal sealed record ShimOptions(
    string Namespace,
    string Id,
    TaskBundle Bundle,
    string Socket,
    string Runtime,
    string RuntimeRoot,
    LogLevel LogLevel)
{
    public const string DeleteUsage =
        "usage: containerd-shim delete --namespace NS --id ID --bundle DIR --runtime-root DIR [--runtime RUNC] [--log-level debug|info|warning|error]";

    /// <summary>Both forms: the server, and the delete sub-command that cleans up after a dead shim.</summary>
    public const string Usage =
        "usage: containerd-shim --namespace NS --id ID --bundle DIR --socket PATH --runtime RUNC --runtime-root DIR [--log-level debug|info|warning|error]\n"
        + "       containerd-shim delete --namespace NS --id ID --bundle DIR --runtime-root DIR [--runtime RUNC] [--log-level debug|info|warning|error]";

    /// <exception cref="ArgumentException">The command line is wrong; the message says how.</exception>
    public static ShimOptions Parse(string[] args)
    {
        var values = CommandLine.Parse(args, "namespace", "id", "bundle", "socket", "runtime", "runtime-root", "log-level");
        var (ns, id) = CommandLine.Identity(values);

        var bundle = CommandLine.ExistingBundle(values);
        var socket = Path.GetFullPath(values.GetValueOrDefault("socket") is { Length: > 0 } s ? s : bundle.DefaultSocket);
        if (!TaskBundle.FitsSocketPath(socket))
            throw new ArgumentException($"socket path {socket} is longer than {TaskBundle.MaxSocketPathBytes} bytes");

        var runtime = values.GetValueOrDefault("runtime") is { Length: > 0 } r ? r : "runc";
        var runtimeRoot = Path.GetFullPath(CommandLine.Required(values, "runtime-root"));
        var level = CommandLine.LogLevel(values);
        return new ShimOptions(ns, id, bundle, socket, runtime, runtimeRoot, level);
    }
}
