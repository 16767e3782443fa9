using System.CommandLine;
using Containerd.Ctr.Commands;

namespace Containerd.Ctr.Cli;

/// <summary>Assembles the command tree of ctr.</summary>
public static class CtrRootCommand
{
    public static RootCommand Create()
    {
        var globals = new GlobalOptions();
        var root = new RootCommand("ctr: command-line client of containerd (C# reimplementation)")
        {
            globals.Address,
            globals.Namespace,
        };
        root.Add(RunCommand.Create(globals));
        root.Add(ContainersCommand.Create(globals));
        root.Add(TasksCommand.Create(globals));
        root.Add(EventsCommand.Create(globals));
        root.Add(VersionCommand.Create(globals));
        root.Add(ContentCommand.Create(globals));
        root.Add(ImagesCommand.Create(globals));
        return root;
    }
}
