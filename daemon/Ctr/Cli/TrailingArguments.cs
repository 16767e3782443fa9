using System.CommandLine;

namespace Containerd.Ctr.Cli;

/// <summary>
/// Commands such as <c>run ID CMD ARG...</c> take a command line for the
/// container. Its words must never be read as ctr's options
/// (<c>ctr run ... ls -d /</c> is not ctr's --detach), so, as in the original
/// ctr, option parsing stops at CMD: a <c>--</c> is inserted before it.
/// </summary>
public static class TrailingArguments
{
    /// <summary>Name of the argument that swallows everything after it.</summary>
    public const string CommandLineArgument = "command";

    public static string[] Protect(RootCommand root, string[] args)
    {
        Command current = root;
        var inherited = new List<Option>(root.Options);
        var positional = 0;
        for (var i = 0; i < args.Length; i++)
        {
            var token = args[i];
            if (token == "--")
                return args;

            var option = FindOption(current, inherited, token);
            if (option is not null)
            {
                if (!token.Contains('=') && option.Arity.MaximumNumberOfValues > 0 && option.ValueType != typeof(bool))
                    i++;
                continue;
            }
            if (token.StartsWith('-') && token.Length > 1)
                continue;

            var sub = positional == 0 ? current.Subcommands.FirstOrDefault(c => c.Name == token || c.Aliases.Contains(token)) : null;
            if (sub is not null)
            {
                inherited.AddRange(current.Options.Where(o => o.Recursive));
                current = sub;
                continue;
            }

            var trailingIndex = current.Arguments.ToList().FindIndex(a => a.Name == CommandLineArgument);
            if (trailingIndex >= 0 && positional == trailingIndex)
                return [.. args[..i], "--", .. args[i..]];
            positional++;
        }
        return args;
    }

    private static Option? FindOption(Command command, List<Option> inherited, string token)
    {
        var name = token.Split('=', 2)[0];
        return command.Options.Concat(inherited)
            .FirstOrDefault(o => o.Name == name || o.Aliases.Contains(name));
    }
}
