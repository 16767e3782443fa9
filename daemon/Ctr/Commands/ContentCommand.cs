using System.CommandLine;
using Containerd.Api.Content;
using Containerd.Ctr.Cli;
using Containerd.Ctr.Output;
using Grpc.Core;

namespace Containerd.Ctr.Commands;

/// <summary><c>ctr content</c>: the daemon's content store (blobs by digest).</summary>
public static class ContentCommand
{
    public static Command Create(GlobalOptions globals)
    {
        var command = new Command("content", "manage content");
        command.Add(List(globals));
        command.Add(Delete(globals));
        return command;
    }

    private static Command List(GlobalOptions globals)
    {
        var quiet = new Option<bool>("--quiet", "-q") { Description = "print only the digests" };
        var command = new Command("list", "list all blobs in the store") { quiet };
        command.Aliases.Add("ls");
        CommandAction.Set(command, globals, async (parseResult, client, cancellationToken) =>
        {
            var blobs = new List<Info>();
            using var call = client.Content.List(new ListContentRequest(), cancellationToken: cancellationToken);
            await foreach (var response in call.ResponseStream.ReadAllAsync(cancellationToken))
                blobs.AddRange(response.Info);
            blobs.Sort((a, b) => string.CompareOrdinal(a.Digest, b.Digest));
            if (parseResult.GetValue(quiet))
            {
                foreach (var blob in blobs)
                    Console.WriteLine(blob.Digest);
                return 0;
            }
            // containerd's columns, but LABELS: this store has none yet.
            var now = DateTime.UtcNow;
            var table = new Table("DIGEST", "SIZE", "AGE");
            foreach (var blob in blobs)
                table.Add(blob.Digest, HumanUnits.Size(blob.Size), Age(now, blob));
            table.WriteTo(Console.Out);
            return 0;
        });
        return command;
    }

    private static Command Delete(GlobalOptions globals)
    {
        var digests = new Argument<string[]>("digest") { Description = "digests of the blobs to delete", Arity = ArgumentArity.OneOrMore };
        var command = new Command("delete", "permanently delete one or more blobs") { digests };
        command.Aliases.Add("del");
        command.Aliases.Add("remove");
        command.Aliases.Add("rm");
        CommandAction.Set(command, globals, async (parseResult, client, cancellationToken) =>
        {
            // As ctr containers delete: every digest is attempted, the first failure decides the exit status.
            var all = parseResult.GetRequiredValue(digests);
            RpcException? failure = null;
            foreach (var digest in all)
            {
                try
                {
                    await client.Content.DeleteAsync(new DeleteContentRequest { Digest = digest }, cancellationToken: cancellationToken);
                    Console.WriteLine(digest);
                }
                catch (RpcException e) when (!CommandAction.IsConnectionFailure(e))
                {
                    failure ??= e;
                    if (all.Length > 1)
                        await Console.Error.WriteLineAsync($"ctr: {digest}: {CommandAction.Describe(e, client.Address)}");
                }
            }
            if (failure is not null && all.Length == 1)
                throw failure;
            return failure is null ? 0 : 1;
        });
        return command;
    }

    private static string Age(DateTime now, Info blob) =>
        blob.CreatedAt is null ? "-" : HumanUnits.Duration(now - blob.CreatedAt.ToDateTime());
}
