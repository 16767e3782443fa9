using System.CommandLine;
using Containerd.Ctr.Cli;

var root = CtrRootCommand.Create();
var parseResult = root.Parse(
    TrailingArguments.Protect(root, args),
    // A container command line may legitimately start with '@'; it must never be read as a response file.
    new ParserConfiguration { ResponseFileTokenReplacer = null });

// Signals are handled per command (run forwards them to the task), so the
// library must not turn Ctrl-C into a cancellation of its own.
return await parseResult.InvokeAsync(new InvocationConfiguration
{
    ProcessTerminationTimeout = null,
    EnableDefaultExceptionHandler = false,
});
