using System.CommandLine;
using Containerd.Ctr.Client;
using Containerd.Shared.Identifiers;

namespace Containerd.Ctr.Cli;

/// <summary>Options every command accepts: where the daemon listens and which namespace to act in.</summary>
public sealed class GlobalOptions
{
    public const string DefaultAddress = "/run/containerd-cs/containerd.sock";

    public Option<string> Address { get; } = new("--address")
    {
        Description = "address of the containerd daemon's unix socket (env CONTAINERD_ADDRESS)",
        Recursive = true,
        DefaultValueFactory = _ => FromEnvironment("CONTAINERD_ADDRESS", DefaultAddress),
    };

    public Option<string> Namespace { get; } = new("--namespace", "-n")
    {
        Description = "namespace to use (env CONTAINERD_NAMESPACE)",
        Recursive = true,
        DefaultValueFactory = _ => FromEnvironment("CONTAINERD_NAMESPACE", Namespaces.Default),
    };

    public DaemonClient Connect(ParseResult parseResult) =>
        new(parseResult.GetValue(Address) ?? DefaultAddress, parseResult.GetValue(Namespace) ?? Namespaces.Default);

    private static string FromEnvironment(string variable, string fallback)
    {
        var value = Environment.GetEnvironmentVariable(variable);
        return string.IsNullOrEmpty(value) ? fallback : value;
    }
}
