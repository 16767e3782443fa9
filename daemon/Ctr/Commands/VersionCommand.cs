using System.CommandLine;
using System.Reflection;
using Containerd.Ctr.Cli;

namespace Containerd.Ctr.Commands;

/// <summary><c>ctr version</c>: this client's version and the daemon's.</summary>
public static class VersionCommand
{
    public static Command Create(GlobalOptions globals)
    {
        var command = new Command("version", "print the client and server versions");
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var version = typeof(VersionCommand).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
            var plus = version.IndexOf('+', StringComparison.Ordinal);
            Console.WriteLine("Client:");
            Console.WriteLine($"  Version:  {(plus < 0 ? version : version[..plus])}");
            Console.WriteLine($"  Revision: {(plus < 0 ? "" : version[(plus + 1)..])}");
            Console.WriteLine();
            Console.WriteLine("Server:");
            var address = parseResult.GetValue(globals.Address) ?? GlobalOptions.DefaultAddress;
            try
            {
                using var client = globals.Connect(parseResult);
                var response = await client.Version.VersionAsync(new Google.Protobuf.WellKnownTypes.Empty(), cancellationToken: cancellationToken);
                Console.WriteLine($"  Version:  {response.Version}");
                Console.WriteLine($"  Revision: {response.Revision}");
                return 0;
            }
            catch (Exception e)
            {
                await Console.Error.WriteLineAsync($"ctr: {CommandAction.Describe(e, address)}");
                return 1;
            }
        });
        return command;
    }
}
