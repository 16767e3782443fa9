using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Containerd.Api.Execution;
using Containerd.Api.Types;
using Containerd.Ctr.Cli;
using Task = System.Threading.Tasks.Task;
using Containerd.Ctr.Output;
using Containerd.Shared.Oci;

namespace Containerd.Ctr.Commands;

/// <summary><c>ctr tasks</c> (alias <c>t</c>): the running side of containers.</summary>
public static class TasksCommand
{
    public static Command Create(GlobalOptions globals)
    {
        var command = new Command("tasks", "manage tasks") { Aliases = { "t", "task" } };
        command.Add(List(globals));
        command.Add(Info(globals));
        command.Add(Start(globals));
        command.Add(Kill(globals));
        command.Add(Simple(globals, "pause", "pause a task's processes",
            (client, id, ct) => client.Tasks.PauseAsync(new PauseRequest { ContainerId = id }, cancellationToken: ct).ResponseAsync));
        command.Add(Simple(globals, "resume", "resume a paused task",
            (client, id, ct) => client.Tasks.ResumeAsync(new ResumeRequest { ContainerId = id }, cancellationToken: ct).ResponseAsync));
        command.Add(Processes(globals));
        command.Add(Delete(globals));
        command.Add(Checkpoint(globals));
        command.Add(ExecCommand.Create(globals));
        command.Add(AttachCommand.Create(globals));
        return command;
    }

    public static string StatusName(Status status) => status.ToString().ToUpperInvariant();

    private static Command Checkpoint(GlobalOptions globals)
    {
        var exit = new Option<bool>("--exit") { Description = "stop the task once it is checkpointed" };
        var tcp = new Option<bool>("--tcp") { Description = "allow established TCP connections" };
        var unixSockets = new Option<bool>("--unix-sockets") { Description = "allow external unix sockets" };
        var terminal = new Option<bool>("--terminal") { Description = "allow a terminal (shell job)" };
        var fileLocks = new Option<bool>("--file-locks") { Description = "checkpoint file locks" };
        var parent = new Option<string>("--parent") { Description = "digest of an earlier checkpoint to dump incrementally against" };
        var id = CommonOptions.Id();
        var command = new Command("checkpoint", "checkpoint a running task into the content store and print its descriptors")
        {
            exit, tcp, unixSockets, terminal, fileLocks, parent, id,
        };
        CommandAction.Set(command, globals, async (parseResult, client, cancellationToken) =>
        {
            var response = await client.Tasks.CheckpointAsync(new CheckpointRequest
            {
                ContainerId = parseResult.GetRequiredValue(id),
                Exit = parseResult.GetValue(exit),
                AllowTcp = parseResult.GetValue(tcp),
                AllowUnixSockets = parseResult.GetValue(unixSockets),
                AllowTerminal = parseResult.GetValue(terminal),
                FileLocks = parseResult.GetValue(fileLocks),
                ParentCheckpoint = parseResult.GetValue(parent) ?? "",
            }, cancellationToken: cancellationToken);
            var table = new Table("MEDIA TYPE", "DIGEST", "SIZE");
            foreach (var descriptor in response.Descriptors)
                table.Add(descriptor.MediaType, descriptor.Digest, descriptor.Size.ToString(CultureInfo.InvariantCulture));
            table.WriteTo(Console.Out);
            return 0;
        });
        return command;
    }

    private static Command List(GlobalOptions globals)
    {
        var command = new Command("list", "list tasks");
        command.Aliases.Add("ls");
        CommandAction.Set(command, globals, async (_, client, cancellationToken) =>
        {
            var response = await client.Tasks.ListAsync(new ListRequest(), cancellationToken: cancellationToken);
            var table = new Table("TASK", "PID", "STATUS");
            foreach (var task in response.Tasks.OrderBy(t => t.Id, StringComparer.Ordinal))
                table.Add(task.Id, task.Pid.ToString(CultureInfo.InvariantCulture), StatusName(task.Status));
            table.WriteTo(Console.Out);
            return 0;
        });
        return command;
    }

    private static Command Info(GlobalOptions globals)
    {
        var id = CommonOptions.Id();
        var command = new Command("info", "print a task as JSON") { id };
        CommandAction.Set(command, globals, async (parseResult, client, cancellationToken) =>
        {
            var response = await client.Tasks.InfoAsync(
                new InfoRequest { ContainerId = parseResult.GetRequiredValue(id) }, cancellationToken: cancellationToken);
            var task = response.Task;
            Console.WriteLine(Json.Indented(new JsonObject
            {
                ["id"] = task.Id,
                ["container_id"] = task.ContainerId,
                ["pid"] = task.Pid,
                ["status"] = StatusName(task.Status),
                ["stdin"] = task.Stdin,
                ["stdout"] = task.Stdout,
                ["stderr"] = task.Stderr,
                ["terminal"] = task.Terminal,
                ["spec"] = task.Spec is null ? null : new JsonObject
                {
                    ["type_url"] = task.Spec.TypeUrl,
                    ["value"] = SpecAny.Unpack(task.Spec),
                },
            }));
            return 0;
        });
        return command;
    }

    private static Command Start(GlobalOptions globals) =>
        Simple(globals, "start", "start a created task (detached)",
            (client, id, ct) => client.Tasks.StartAsync(new StartRequest { ContainerId = id }, cancellationToken: ct).ResponseAsync);

    private static Command Kill(GlobalOptions globals)
    {
        var signal = new Option<string>("--signal", "-s")
        {
            Description = "signal to send, as a number or a name (SIGKILL, KILL, kill)",
            DefaultValueFactory = _ => "SIGTERM",
        };
        var all = new Option<bool>("--all", "-a") { Description = "send the signal to all processes of the task" };
        var pid = new Option<uint?>("--pid") { Description = "send the signal to this process (default: the init process)" };
        var id = CommonOptions.Id();
        var command = new Command("kill", "signal a task's processes") { signal, all, pid, id };
        CommandAction.Set(command, globals, async (parseResult, client, cancellationToken) =>
        {
            var request = new KillRequest
            {
                ContainerId = parseResult.GetRequiredValue(id),
                Signal = Signals.Parse(parseResult.GetValue(signal) ?? "SIGTERM"),
            };
            var target = parseResult.GetValue(pid);
            if (parseResult.GetValue(all))
            {
                if (target is not null)
                    throw new CtrException("--all and --pid cannot be used together");
                request.All = true;
            }
            else if (target is not null)
            {
                request.Pid = target.Value;
            }
            await client.Tasks.KillAsync(request, cancellationToken: cancellationToken);
            return 0;
        });
        return command;
    }

    private static Command Processes(GlobalOptions globals)
    {
        var id = CommonOptions.Id();
        var command = new Command("ps", "list the processes of a task") { id };
        CommandAction.Set(command, globals, async (parseResult, client, cancellationToken) =>
        {
            var response = await client.Tasks.ProcessesAsync(
                new ProcessesRequest { ContainerId = parseResult.GetRequiredValue(id) }, cancellationToken: cancellationToken);
            var table = new Table("PID", "STATUS");
            foreach (var process in response.Processes.OrderBy(p => p.Pid))
                table.Add(process.Pid.ToString(CultureInfo.InvariantCulture), StatusName(process.Status));
            table.WriteTo(Console.Out);
            return 0;
        });
        return command;
    }

    private static Command Delete(GlobalOptions globals)
    {
        var id = CommonOptions.Id();
        var command = new Command("delete", "delete a stopped task and print its exit status") { id };
        command.Aliases.Add("rm");
        CommandAction.Set(command, globals, async (parseResult, client, cancellationToken) =>
        {
            var containerId = parseResult.GetRequiredValue(id);
            var response = await TaskDeletion.DeleteAsync(client, containerId, cancellationToken);
            var exitedAt = response.ExitedAt is null ? "" : $" at {response.ExitedAt.ToDateTime().ToString("o", CultureInfo.InvariantCulture)}";
            Console.WriteLine($"{containerId} exited with status {response.ExitStatus}{exitedAt}");
            return 0;
        });
        return command;
    }

    private static Command Simple(GlobalOptions globals, string name, string description, Func<Containerd.Ctr.Client.DaemonClient, string, CancellationToken, Task> call)
    {
        var id = CommonOptions.Id();
        var command = new Command(name, description) { id };
        CommandAction.Set(command, globals, async (parseResult, client, cancellationToken) =>
        {
            await call(client, parseResult.GetRequiredValue(id), cancellationToken);
            return 0;
        });
        return command;
    }
}
