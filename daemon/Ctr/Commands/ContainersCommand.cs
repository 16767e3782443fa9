using System.CommandLine;
using System.Text.Json.Nodes;
using Containerd.Api.Containers;
using Containerd.Ctr.Cli;
using Containerd.Ctr.Output;
using Containerd.Shared.Oci;

namespace Containerd.Ctr.Commands;

/// <summary><c>ctr containers</c> (alias <c>c</c>): the container records of the namespace.</summary>
public static class ContainersCommand
{
    public static Command Create(GlobalOptions globals)
    {
        var command = new Command("containers", "manage container records") { Aliases = { "c", "container" } };
        command.Add(List(globals));
        command.Add(Info(globals));
        command.Add(Delete(globals));
        return command;
    }

    private static Command List(GlobalOptions globals)
    {
        var quiet = new Option<bool>("--quiet", "-q") { Description = "print only the ids" };
        var command = new Command("list", "list containers") { quiet };
        command.Aliases.Add("ls");
        CommandAction.Set(command, globals, async (parseResult, client, cancellationToken) =>
        {
            var response = await client.Containers.ListAsync(new ListContainersRequest(), cancellationToken: cancellationToken);
            var containers = response.Containers.OrderBy(c => c.Id, StringComparer.Ordinal);
            if (parseResult.GetValue(quiet))
            {
                foreach (var container in containers)
                    Console.WriteLine(container.Id);
                return 0;
            }
            var table = new Table("ID", "IMAGE", "RUNTIME");
            foreach (var container in containers)
                table.Add(container.Id, Dash(container.Image), Dash(container.Runtime));
            table.WriteTo(Console.Out);
            return 0;
        });
        return command;
    }

    private static Command Info(GlobalOptions globals)
    {
        var id = CommonOptions.Id();
        var command = new Command("info", "print a container record as JSON") { id };
        CommandAction.Set(command, globals, async (parseResult, client, cancellationToken) =>
        {
            var response = await client.Containers.GetAsync(
                new GetContainerRequest { Id = parseResult.GetRequiredValue(id) }, cancellationToken: cancellationToken);
            Console.WriteLine(Json.Indented(ToJson(response.Container)));
            return 0;
        });
        return command;
    }

    private static Command Delete(GlobalOptions globals)
    {
        var ids = new Argument<string[]>("id") { Description = "container ids", Arity = ArgumentArity.OneOrMore };
        var command = new Command("delete", "delete containers (their tasks must be deleted first)") { ids };
        command.Aliases.Add("rm");
        command.Aliases.Add("remove");
        CommandAction.Set(command, globals, async (parseResult, client, cancellationToken) =>
        {
            // Every id is attempted; the first failure decides the exit status.
            Exception? failure = null;
            foreach (var id in parseResult.GetRequiredValue(ids))
            {
                try
                {
                    await client.Containers.DeleteAsync(new DeleteContainerRequest { Id = id }, cancellationToken: cancellationToken);
                }
                catch (Grpc.Core.RpcException e)
                {
                    failure ??= e;
                    if (parseResult.GetRequiredValue(ids).Length > 1)
                        await Console.Error.WriteLineAsync($"ctr: {id}: {CommandAction.Describe(e, client.Address)}");
                }
            }
            if (failure is not null && parseResult.GetRequiredValue(ids).Length == 1)
                throw failure;
            return failure is null ? 0 : 1;
        });
        return command;
    }

    private static JsonObject ToJson(Container container)
    {
        var labels = new JsonObject();
        foreach (var (key, value) in container.Labels.OrderBy(l => l.Key, StringComparer.Ordinal))
            labels[key] = value;
        return new JsonObject
        {
            ["id"] = container.Id,
            ["labels"] = labels,
            ["image"] = container.Image,
            ["runtime"] = container.Runtime,
            ["spec"] = container.Spec is null ? null : new JsonObject
            {
                ["type_url"] = container.Spec.TypeUrl,
                ["value"] = SpecAny.Unpack(container.Spec),
            },
            ["rootfs"] = container.Rootfs,
            ["created_at"] = Json.Time(container.CreatedAt),
            ["updated_at"] = Json.Time(container.UpdatedAt),
        };
    }

    private static string Dash(string value) => string.IsNullOrEmpty(value) ? "-" : value;
}
