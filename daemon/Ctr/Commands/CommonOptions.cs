using System.CommandLine;
using Containerd.Ctr.Cli;

namespace Containerd.Ctr.Commands;

/// <summary>Options and arguments shared by several commands, created fresh per command.</summary>
internal static class CommonOptions
{
    public static Option<string[]> Env() => new("--env", "-e")
    {
        Description = "set an environment variable (K=V); repeatable",
        AllowMultipleArgumentsPerToken = false,
        DefaultValueFactory = _ => [],
    };

    public static Option<string> Cwd(string description) => new("--cwd")
    {
        Description = description,
        DefaultValueFactory = _ => "/",
    };

    public static Option<bool> Tty() => new("--tty", "-t")
    {
        Description = "give the process a terminal (pty): ctr's terminal goes into raw mode, so keys such as Ctrl-C "
            + "reach the process, and its window size follows ctr's; stderr is merged into stdout",
    };

    public static Argument<string> Id(string description = "container id") => new("id") { Description = description };

    public static Argument<string[]> CommandLine() => new(TrailingArguments.CommandLineArgument)
    {
        Description = "command and its arguments (everything after it is passed to the process)",
        Arity = ArgumentArity.OneOrMore,
    };

    public static void CheckEnvironment(IEnumerable<string> env)
    {
        foreach (var variable in env)
        {
            if (variable.IndexOf('=', StringComparison.Ordinal) <= 0)
                throw new CtrException($"invalid --env \"{variable}\": expected KEY=VALUE");
        }
    }
}
