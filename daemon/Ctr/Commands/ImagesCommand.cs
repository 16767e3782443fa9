using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Containerd.Api.Images;
using Containerd.Ctr.Cli;
using Containerd.Ctr.Client;
using Containerd.Ctr.Output;
using Containerd.Shared.Images;
using Grpc.Core;

namespace Containerd.Ctr.Commands;

/// <summary><c>ctr images</c>: pull, list, inspect and remove the daemon's images.</summary>
public static class ImagesCommand
{
    public static Command Create(GlobalOptions globals)
    {
        var command = new Command("images", "manage images");
        command.Aliases.Add("image");
        command.Aliases.Add("i");
        command.Add(Pull(globals));
        command.Add(List(globals));
        command.Add(Inspect(globals));
        command.Add(Remove(globals));
        return command;
    }

    private static Command Pull(GlobalOptions globals)
    {
        var plainHttp = new Option<bool>("--plain-http") { Description = "talk to the registry over HTTP, not HTTPS" };
        var user = new Option<string>("--user", "-u") { Description = "registry credentials, USER:PASSWORD (basic auth, or for the token realm)" };
        var platform = new Option<string>("--platform") { Description = "pull the image for this platform (os/arch[/variant]); default: this machine's" };
        var noUnpack = new Option<bool>("--no-unpack") { Description = "store the image without unpacking it into snapshots" };
        var reference = new Argument<string>("ref") { Description = "image reference (busybox, registry:5000/name:tag, name@sha256:...)" };
        var command = new Command("pull", "pull an image from a registry into the daemon") { plainHttp, user, platform, noUnpack, reference };
        CommandAction.Set(command, globals, async (parseResult, client, cancellationToken) =>
        {
            var request = new PullRequest
            {
                Reference = parseResult.GetRequiredValue(reference),
                PlainHttp = parseResult.GetValue(plainHttp),
                Platform = parseResult.GetValue(platform) ?? "",
                Unpack = !parseResult.GetValue(noUnpack),
            };
            if (parseResult.GetValue(user) is { Length: > 0 } credentials)
            {
                var colon = credentials.IndexOf(':', StringComparison.Ordinal);
                if (colon <= 0)
                    throw new CtrException("--user must be USER:PASSWORD");
                request.Username = credentials[..colon];
                request.Password = credentials[(colon + 1)..];
            }

            var display = new PullProgressDisplay(Console.Out, terminal: !Console.IsOutputRedirected);
            using var call = client.Pull.Pull(request, cancellationToken: cancellationToken);
            PulledImage? pulled = null;
            await foreach (var message in call.ResponseStream.ReadAllAsync(cancellationToken))
            {
                if (message.Blob is not null)
                    display.Update(message.Blob);
                else if (message.Image is not null)
                    pulled = message.Image;
                else if (message.Status.Length > 0)
                    display.Status($"{message.Status} {request.Reference}");
            }
            if (pulled is null)
                throw new CtrException("the daemon ended the pull without naming the image");
            Console.WriteLine($"{pulled.Image.Name}: {pulled.Image.Target.Digest}");
            return 0;
        });
        return command;
    }

    private static Command List(GlobalOptions globals)
    {
        var quiet = new Option<bool>("--quiet", "-q") { Description = "print only the image names" };
        // As containerd's ctr: each argument is one filter, and an image is listed when any matches.
        var filters = new Argument<string[]>("filters")
        {
            Description = "filters such as name==REF, name~=REGEX, target.digest==DIGEST, labels.KEY==VALUE (selectors joined by ',' must all match)",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var command = new Command("list", "list images") { quiet, filters };
        command.Aliases.Add("ls");
        CommandAction.Set(command, globals, async (parseResult, client, cancellationToken) =>
        {
            var request = new ListImagesRequest();
            request.Filters.Add(parseResult.GetValue(filters) ?? []);
            var images = (await client.Images.ListAsync(request, cancellationToken: cancellationToken)).Images;
            if (parseResult.GetValue(quiet))
            {
                foreach (var image in images)
                    Console.WriteLine(image.Name);
                return 0;
            }
            // containerd's columns.
            var table = new Table("REF", "TYPE", "DIGEST", "SIZE", "PLATFORMS", "LABELS");
            foreach (var image in images)
            {
                var (size, platforms) = await SummaryAsync(client, image, cancellationToken);
                var labels = image.Labels.Count == 0 ? "-" : string.Join(",", image.Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"));
                table.Add(image.Name, image.Target.MediaType, image.Target.Digest, size, platforms, labels);
            }
            table.WriteTo(Console.Out);
            return 0;
        });
        return command;
    }

    private static Command Inspect(GlobalOptions globals)
    {
        var platform = new Option<string>("--platform") { Description = "the platform whose manifest to show (default: this machine's)" };
        var reference = new Argument<string>("ref") { Description = "image name as listed" };
        var command = new Command("inspect", "show an image's manifest and config summary as JSON") { platform, reference };
        CommandAction.Set(command, globals, async (parseResult, client, cancellationToken) =>
        {
            var image = await GetAsync(client, parseResult.GetRequiredValue(reference), cancellationToken);
            var resolved = await ResolveAsync(client, image, ParsePlatform(parseResult.GetValue(platform)), cancellationToken);
            using var config = JsonDocument.Parse(resolved.ConfigJson);
            var root = config.RootElement;
            var node = new JsonObject
            {
                ["name"] = image.Name,
                ["target"] = Descriptor(BlobRef.FromApi(image.Target)),
                ["manifest"] = Descriptor(resolved.Manifest),
                ["config"] = Descriptor(resolved.Config),
                ["platform"] = $"{Text(root, "os")}/{Text(root, "architecture")}",
                ["layers"] = new JsonArray([.. resolved.Layers.Select(l => (JsonNode?)Descriptor(l))]),
                ["diffIds"] = new JsonArray([.. resolved.DiffIds.Select(d => (JsonNode?)JsonValue.Create(d))]),
                ["chainId"] = resolved.TopChainId,
                ["process"] = root.TryGetProperty("config", out var process) && process.ValueKind == JsonValueKind.Object
                    ? JsonNode.Parse(process.GetRawText())
                    : null,
                ["created"] = Json.Time(image.CreatedAt),
                ["updated"] = Json.Time(image.UpdatedAt),
            };
            Console.WriteLine(Json.Indented(node));
            return 0;
        });
        return command;
    }

    private static Command Remove(GlobalOptions globals)
    {
        var references = new Argument<string[]>("ref") { Description = "image names as listed", Arity = ArgumentArity.OneOrMore };
        var command = new Command("remove", "remove images (and what only they kept: content and snapshots)") { references };
        command.Aliases.Add("rm");
        command.Aliases.Add("delete");
        command.Aliases.Add("del");
        CommandAction.Set(command, globals, async (parseResult, client, cancellationToken) =>
        {
            // As ctr containers delete: every name is attempted, the first failure decides the exit status.
            var all = parseResult.GetRequiredValue(references);
            RpcException? failure = null;
            foreach (var name in all)
            {
                try
                {
                    await client.Images.DeleteAsync(new DeleteImageRequest { Name = name, Sync = true }, cancellationToken: cancellationToken);
                    Console.WriteLine(name);
                }
                catch (RpcException e) when (!CommandAction.IsConnectionFailure(e))
                {
                    failure ??= e;
                    if (all.Length > 1)
                        await Console.Error.WriteLineAsync($"ctr: {name}: {CommandAction.Describe(e, client.Address)}");
                }
            }
            if (failure is not null && all.Length == 1)
                throw failure;
            return failure is null ? 0 : 1;
        });
        return command;
    }

    /// <summary>The record by its name as listed (the normalised one the pull printed).</summary>
    public static async Task<Image> GetAsync(DaemonClient client, string name, CancellationToken cancellationToken) =>
        (await client.Images.GetAsync(new GetImageRequest { Name = name }, cancellationToken: cancellationToken)).Image;

    public static async Task<ResolvedImage> ResolveAsync(DaemonClient client, Image image, ImagePlatform platform, CancellationToken cancellationToken)
    {
        try
        {
            return await ImageWalk.ResolveAsync(BlobRef.FromApi(image.Target), platform,
                (digest, ct) => ContentReader.ReadAllAsync(client, digest, ct), cancellationToken);
        }
        catch (ImageFormatException e)
        {
            throw new CtrException($"image {image.Name}: {e.Message}");
        }
    }

    public static ImagePlatform ParsePlatform(string? text)
    {
        try
        {
            return ImagePlatform.Parse(text);
        }
        catch (FormatException e)
        {
            throw new CtrException(e.Message);
        }
    }

    /// <summary>containerd's SIZE (index, this platform's manifest, config, layers) and PLATFORMS columns.</summary>
    private static async Task<(string Size, string Platforms)> SummaryAsync(DaemonClient client, Image image, CancellationToken cancellationToken)
    {
        var platforms = new List<string>();
        try
        {
            var target = BlobRef.FromApi(image.Target);
            if (ImageMediaTypes.IsIndex(target.MediaType))
            {
                var index = ImageJson.IndexManifests(await ContentReader.ReadAllAsync(client, target.Digest, cancellationToken));
                platforms.AddRange(index.Where(e => e.Os.Length > 0)
                    .Select(e => e.Variant.Length > 0 ? $"{e.Os}/{e.Architecture}/{e.Variant}" : $"{e.Os}/{e.Architecture}"));
            }
            var resolved = await ImageWalk.ResolveAsync(target, ImagePlatform.Current,
                (digest, ct) => ContentReader.ReadAllAsync(client, digest, ct), cancellationToken);
            if (platforms.Count == 0)
            {
                using var config = JsonDocument.Parse(resolved.ConfigJson);
                platforms.Add($"{Text(config.RootElement, "os")}/{Text(config.RootElement, "architecture")}");
            }
            var size = resolved.Manifest.Size + resolved.Config.Size + resolved.Layers.Sum(l => l.Size)
                + (resolved.Manifest.Digest == target.Digest ? 0 : target.Size);
            return (HumanUnits.Size(size), string.Join(",", platforms.Distinct()));
        }
        catch (Exception e) when (e is ImageFormatException or JsonException or RpcException { StatusCode: StatusCode.NotFound })
        {
            // An image whose content is not (all) here: listed, as containerd lists it, without what it cannot know.
            return ("-", platforms.Count == 0 ? "-" : string.Join(",", platforms.Distinct()));
        }
    }

    private static JsonObject Descriptor(BlobRef blob) => new()
    {
        ["mediaType"] = blob.MediaType,
        ["digest"] = blob.Digest,
        ["size"] = blob.Size,
    };

    private static string Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() ?? "" : "";
}
