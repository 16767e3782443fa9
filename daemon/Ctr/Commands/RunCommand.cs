using System.CommandLine;
using Containerd.Api.Containers;
using Containerd.Api.Execution;
using Containerd.Api.Types;
using Containerd.Ctr.Cli;
using Task = System.Threading.Tasks.Task;
using Containerd.Ctr.Client;
using Containerd.Ctr.Io;
using System.Text.Json.Nodes;
using Containerd.Api.Images;
using Containerd.Shared.Images;
using Containerd.Shared.Oci;
using Containerd.Shared.Users;
using CheckpointMediaTypes = Containerd.Shared.Tasks.CheckpointMediaTypes;
using Grpc.Core;

namespace Containerd.Ctr.Commands;

/// <summary>
/// <c>ctr run</c>: creates a container record and its task, and runs it. Two
/// forms, as containerd's ctr: <c>ctr run [flags] IMAGE ID [CMD...]</c> (the
/// process from the image's config, the rootfs an overlay snapshot of the
/// image the daemon prepares) and <c>ctr run --rootfs DIR ID CMD...</c> (a
/// host directory bind-mounted as the rootfs). <c>--rootfs</c> decides which:
/// with it the first word is the ID, without it the IMAGE.
/// </summary>
public static class RunCommand
{
    private sealed record Settings(
        string Id, string[] Args, string[] Env, string? Cwd, string Runtime, string? Rootfs, string? Image, bool Remove, bool Detach, bool Tty,
        string? Checkpoint, string? User);

    /// <summary>
    /// The descriptor a restore sends: the CRIU tar's media type, the digest
    /// `ctr tasks checkpoint` printed, and its size from the content store.
    /// When the store cannot say (unknown or malformed digest), size 0, which
    /// the daemon reads as "unknown": Create then reports the problem itself,
    /// naming the task.
    /// </summary>
    private static async Task<ContentDescriptor?> CheckpointOfAsync(DaemonClient client, Settings settings, CancellationToken cancellationToken)
    {
        if (settings.Checkpoint is not { Length: > 0 } digest)
            return null;
        long size = 0;
        try
        {
            size = (await client.Content.InfoAsync(new Api.Content.InfoRequest { Digest = digest }, cancellationToken: cancellationToken)).Info.Size;
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.NotFound or StatusCode.InvalidArgument)
        {
        }
        return new ContentDescriptor { MediaType = CheckpointMediaTypes.CriuTar, Digest = digest, Size = size };
    }

    public static Command Create(GlobalOptions globals)
    {
        var remove = new Option<bool>("--rm") { Description = "delete the task and the container once the task exited" };
        var detach = new Option<bool>("--detach", "-d")
        {
            Description = "start the task and return at once (no stdio; with -t the terminal is kept for `ctr tasks attach`)",
        };
        var tty = CommonOptions.Tty();
        var env = CommonOptions.Env();
        var cwd = CommonOptions.Cwd("working directory of the process inside the container");
        var runtime = new Option<string>("--runtime")
        {
            Description = "runtime name stored on the container (linux = the default runc)",
            DefaultValueFactory = _ => "linux",
        };
        var rootfs = new Option<string>("--rootfs")
        {
            Description = "directory to use as the container's root filesystem (then the first argument is the ID, not an IMAGE)",
        };
        var user = new Option<string>("--user")
        {
            Description = "run as USER[:GROUP] instead of the image's user: names or numeric ids, names looked up in the image's "
                + "(or the --rootfs directory's) /etc/passwd and /etc/group; supplementary groups from /etc/group",
        };
        var checkpoint = new Option<string>("--checkpoint")
        {
            Description = "restore the task from this checkpoint (a digest `ctr tasks checkpoint` printed) instead of starting the command afresh",
        };
        var target = new Argument<string>("image|id") { Description = "IMAGE (as `ctr images list` names it), or with --rootfs the container ID" };
        var commandLine = new Argument<string[]>(TrailingArguments.CommandLineArgument)
        {
            Description = "with an IMAGE: ID, then optionally the command and its arguments (replacing the image's cmd); "
                + "with --rootfs: the command and its arguments",
            Arity = ArgumentArity.ZeroOrMore,
        };

        var command = new Command("run", "run a command in a new container: run [flags] IMAGE ID [CMD...] or run --rootfs DIR [flags] ID CMD...")
        {
            remove, detach, tty, env, cwd, runtime, rootfs, user, checkpoint, target, commandLine,
        };
        CommandAction.Set(command, globals, (parseResult, client, cancellationToken) =>
        {
            var first = parseResult.GetRequiredValue(target);
            var rest = parseResult.GetValue(commandLine) ?? [];
            var directory = parseResult.GetValue(rootfs);
            string id;
            string? image = null;
            if (directory is not null)
            {
                id = first;
                if (rest.Length == 0)
                    throw new CtrException("run --rootfs DIR ID CMD...: a command is required (there is no image config to take it from)");
            }
            else
            {
                image = first;
                if (rest.Length == 0)
                    throw new CtrException("run IMAGE ID [CMD...]: the container ID is missing (or give --rootfs DIR to run a directory)");
                id = rest[0];
                rest = rest[1..];
            }
            // An explicit --cwd wins over the image's working directory; the default does not.
            var explicitCwd = parseResult.GetResult(cwd) is { Implicit: false } ? parseResult.GetValue(cwd) : null;
            return RunAsync(client, new Settings(
                id,
                rest,
                parseResult.GetValue(env) ?? [],
                image is null ? explicitCwd ?? "/" : explicitCwd,
                parseResult.GetValue(runtime) ?? "linux",
                directory,
                image,
                parseResult.GetValue(remove),
                parseResult.GetValue(detach),
                parseResult.GetValue(tty),
                parseResult.GetValue(checkpoint),
                parseResult.GetValue(user)), cancellationToken);
        });
        return command;
    }

    /// <summary>The container record (and, for a --rootfs run, the bind mount of the directory).</summary>
    private static async Task<(Container Container, Mount? Mount)> ContainerOfAsync(DaemonClient client, Settings settings, CancellationToken cancellationToken)
    {
        JsonObject spec;
        Mount? mount = null;
        var container = new Container { Id = settings.Id, Runtime = settings.Runtime };
        if (settings.Rootfs is not null)
        {
            var rootfs = Path.GetFullPath(settings.Rootfs);
            if (!Directory.Exists(rootfs))
                throw new CtrException($"rootfs {rootfs} is not a directory");
            spec = RuntimeSpec.Create(settings.Id, settings.Args, settings.Env, settings.Cwd ?? "/");
            if (settings.User is not null)
                spec["process"]!["user"] = UserJson(RootfsUser(rootfs, settings.User));
            mount = new Mount { Type = "bind", Source = rootfs, Options = { "rbind", "rw" } };
        }
        else
        {
            Image image;
            try
            {
                image = await GetImageAsync(client, settings.Image!, cancellationToken);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
            {
                throw new CtrException($"image \"{settings.Image}\" not found: pull it first (`ctr images pull`) and give its name as `ctr images list` shows it");
            }
            var resolved = await ImagesCommand.ResolveAsync(client, image, ImagePlatform.Current, cancellationToken);
            ImageProcess process;
            try
            {
                process = ImageProcess.From(resolved.ConfigJson, settings.Args, settings.Env, settings.Cwd, settings.User);
            }
            catch (FormatException e)
            {
                throw new CtrException($"image {image.Name}: {e.Message}");
            }
            spec = RuntimeSpec.Create(settings.Id, process.Args, [], process.Cwd);
            // The image's env with --env merged over it, PATH included: not the default PATH before it.
            spec["process"]!["env"] = ProcessSpec.Strings(process.Env);
            spec["process"]!["user"] = UserJson(await ImageUserAsync(client, image.Name, resolved, process.User, cancellationToken));
            container.Image = image.Name;
            container.Labels[ContainerRootfs.SnapshotterLabel] = ContainerRootfs.Overlay;
        }
        if (settings.Tty)
            spec["process"]!["terminal"] = true;
        container.Spec = SpecAny.Pack(SpecAny.RuntimeSpecType, spec);
        return (container, mount);
    }

    /// <summary>
    /// The image as named, else as docker would normalise a short name
    /// (<c>busybox</c> → <c>docker.io/library/busybox:latest</c>), the name a pull records.
    /// </summary>
    private static async Task<Image> GetImageAsync(DaemonClient client, string name, CancellationToken cancellationToken)
    {
        try
        {
            return await ImagesCommand.GetAsync(client, name, cancellationToken);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound && DockerName(name) is { } normalised && normalised != name)
        {
            return await ImagesCommand.GetAsync(client, normalised, cancellationToken);
        }
    }

    private static string? DockerName(string name)
    {
        if (name.Contains('@', StringComparison.Ordinal))
            return null;
        var slash = name.IndexOf('/', StringComparison.Ordinal);
        var first = slash < 0 ? "" : name[..slash];
        var hasRegistry = slash >= 0 && (first.Contains('.') || first.Contains(':') || first == "localhost");
        var full = hasRegistry ? name : slash < 0 ? "docker.io/library/" + name : "docker.io/" + name;
        var lastSlash = full.LastIndexOf('/');
        return full.IndexOf(':', lastSlash + 1) < 0 ? full + ":latest" : full;
    }

    /// <summary>
    /// The image's user as containerd's WithUser and WithAdditionalGIDs resolve
    /// it. Only a name needs /etc/passwd and /etc/group, read out of the layers
    /// through the Content API; numeric users cost no read (and so, unlike
    /// containerd, take gid 0 rather than passwd's for a lone uid).
    /// </summary>
    private static async Task<ProcessUser> ImageUserAsync(
        DaemonClient client, string imageName, ResolvedImage resolved, string user, CancellationToken cancellationToken)
    {
        var source = $"image {imageName}";
        try
        {
            var database = UserDatabase.None(source);
            if (UserDatabase.NeedsFiles(user))
            {
                var files = await LayerFileReader.ReadAsync(
                    resolved.Layers,
                    (layer, token) => Task.FromResult<Stream>(new ContentReadStream(client, layer.Digest, token)),
                    [UserFiles.Passwd, UserFiles.Group],
                    cancellationToken);
                database = UserFiles.FromContents(files[UserFiles.Passwd], files[UserFiles.Group], source);
            }
            return database.Resolve(user);
        }
        catch (UserLookupException e)
        {
            throw new CtrException(e.Message);
        }
        catch (Exception e) when (e is ImageFormatException or NotSupportedException)
        {
            throw new CtrException($"cannot look up user \"{user}\" in {source}: {e.Message}");
        }
    }

    /// <summary>A --user for a --rootfs run: names looked up in DIR/etc/passwd and DIR/etc/group.</summary>
    private static ProcessUser RootfsUser(string rootfs, string user)
    {
        var source = $"rootfs {rootfs}";
        try
        {
            var database = UserDatabase.NeedsFiles(user) ? UserFiles.FromDirectory(rootfs, source) : UserDatabase.None(source);
            return database.Resolve(user);
        }
        catch (UserLookupException e)
        {
            throw new CtrException(e.Message);
        }
    }

    private static JsonObject UserJson(ProcessUser user) => new()
    {
        ["uid"] = user.Uid,
        ["gid"] = user.Gid,
        ["additionalGids"] = new JsonArray([.. user.AdditionalGids.Select(g => (JsonNode?)JsonValue.Create(g))]),
    };

    private static async Task<int> RunAsync(DaemonClient client, Settings settings, CancellationToken cancellationToken)
    {
        if (settings.Remove && settings.Detach)
            throw new CtrException("--rm and --detach cannot be used together");
        CommonOptions.CheckEnvironment(settings.Env);
        var (container, mount) = await ContainerOfAsync(client, settings, cancellationToken);
        // None for an image's container: the daemon mounts its snapshot.
        Mount[] mounts = mount is null ? [] : [mount];
        var checkpoint = await CheckpointOfAsync(client, settings, cancellationToken);

        using var signals = new SignalForwarder(cancellationToken);
        var aborted = signals.Aborted;
        var containerCreated = false;
        var taskCreated = false;
        var finished = false;
        try
        {
            if (settings.Detach)
            {
                await client.Containers.CreateAsync(new CreateContainerRequest { Container = container }, cancellationToken: aborted);
                containerCreated = true;
                await CreateDetachedTaskAsync(client, settings, mounts, checkpoint, aborted);
                taskCreated = true;
                await client.Tasks.StartAsync(new StartRequest { ContainerId = settings.Id }, cancellationToken: aborted);
                finished = true;
                return 0;
            }

            await using var events = await EventSubscription.OpenAsync(client, aborted);
            await client.Containers.CreateAsync(new CreateContainerRequest { Container = container }, cancellationToken: aborted);
            containerCreated = true;

            // A terminal always takes ctr's stdin (raw from a terminal, else until EOF, which becomes the pty's EOF).
            using var stdio = StdioSession.Open(settings.Id, settings.Tty || StdinSource.ShouldForward(), settings.Tty);
            var created = await client.Tasks.CreateAsync(new CreateRequest
            {
                ContainerId = settings.Id,
                Rootfs = { mounts },
                Stdin = stdio.Stdin,
                Stdout = stdio.Stdout,
                Stderr = stdio.Stderr,
                Terminal = settings.Tty,
                Checkpoint = checkpoint,
            }, cancellationToken: aborted);
            taskCreated = true;

            // Sized before it starts, so the process's first look at its terminal is right.
            using var resizer = settings.Tty ? await PtyResizer.StartAsync(client, settings.Id, 0, aborted) : null;
            using var raw = settings.Tty ? RawTerminal.EnterIfTerminal() : null;
            stdio.StartInput();

            await client.Tasks.StartAsync(new StartRequest { ContainerId = settings.Id }, cancellationToken: aborted);
            signals.ForwardTo(signal => client.Tasks.KillAsync(new KillRequest { ContainerId = settings.Id, Signal = signal }).ResponseAsync);

            // A restored task has no process until Start (Create answered pid 0); the restore gave it one.
            var pid = created.Pid != 0
                ? created.Pid
                : (await client.Tasks.InfoAsync(new InfoRequest { ContainerId = settings.Id }, cancellationToken: aborted)).Task.Pid;
            var exit = await AttachedProcess.WaitAsync(client, settings.Id, pid, 0, stdio, events, cancellationToken);
            var status = exit.Status;
            if (settings.Remove)
            {
                var deleted = await TaskDeletion.DeleteAsync(client, settings.Id, cancellationToken);
                status ??= deleted.ExitStatus;
                await client.Containers.DeleteAsync(new DeleteContainerRequest { Id = settings.Id }, cancellationToken: cancellationToken);
            }
            finished = true;
            if (status is null)
            {
                await Console.Error.WriteLineAsync($"ctr: the exit status of task {settings.Id} was lost");
                return 255;
            }
            return (int)status.Value;
        }
        catch (Exception e) when (aborted.IsCancellationRequested && e is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled })
        {
            throw CtrException.Interrupted();
        }
        finally
        {
            if (!finished && settings.Remove && containerCreated)
                await CleanUpAsync(client, settings.Id, taskCreated);
        }
    }

    /// <summary>
    /// <c>run -d</c>: no stdio, or with <c>-t</c> a terminal whose FIFOs live in a
    /// directory that outlives ctr (for <c>ctr tasks attach</c>); <c>ctr tasks delete</c> removes it.
    /// </summary>
    private static async Task CreateDetachedTaskAsync(
        DaemonClient client, Settings settings, Mount[] mounts, ContentDescriptor? checkpoint, CancellationToken cancellationToken)
    {
        var request = new CreateRequest { ContainerId = settings.Id, Rootfs = { mounts }, Checkpoint = checkpoint };
        if (!settings.Tty)
        {
            await client.Tasks.CreateAsync(request, cancellationToken: cancellationToken);
            return;
        }

        var directory = FifoDirectory.Create(settings.Id);
        var created = false;
        try
        {
            request.Terminal = true;
            request.Stdin = Path.Combine(directory, "stdin");
            request.Stdout = Path.Combine(directory, "stdout");
            FifoDirectory.MakeFifo(request.Stdin);
            FifoDirectory.MakeFifo(request.Stdout);
            await client.Tasks.CreateAsync(request, cancellationToken: cancellationToken);
            created = true;
            if (WindowSize.Current() is { } size)
            {
                await client.Tasks.PtyAsync(
                    new PtyRequest { ContainerId = settings.Id, Width = size.Width, Height = size.Height }, cancellationToken: cancellationToken);
            }
        }
        finally
        {
            // Once the task exists its delete owns the directory; before, nothing else would remove it.
            if (!created)
                FifoDirectory.Remove(directory);
        }
    }

    /// <summary>Undoes what a failed <c>run --rm</c> created; best effort, the original error is what the user sees.</summary>
    private static async Task CleanUpAsync(DaemonClient client, string id, bool taskCreated)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            if (taskCreated)
            {
                await IgnoreErrorsAsync(() => client.Tasks.KillAsync(
                    new KillRequest { ContainerId = id, Signal = Signals.SIGKILL, All = true }, cancellationToken: timeout.Token).ResponseAsync);
                // The kill is asynchronous: Delete fails with FailedPrecondition until the exit was reaped.
                while (true)
                {
                    try
                    {
                        await TaskDeletion.DeleteAsync(client, id, timeout.Token);
                        break;
                    }
                    catch (RpcException e) when (e.StatusCode == StatusCode.FailedPrecondition)
                    {
                        await Task.Delay(100, timeout.Token);
                    }
                    catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
                    {
                        break;
                    }
                }
            }
            await client.Containers.DeleteAsync(new DeleteContainerRequest { Id = id }, cancellationToken: timeout.Token);
        }
        catch (Exception e) when (e is RpcException or OperationCanceledException)
        {
            await Console.Error.WriteLineAsync($"ctr: cleaning up container {id}: {CommandAction.Describe(e, client.Address)}");
        }
    }

    private static async Task IgnoreErrorsAsync(Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (RpcException)
        {
        }
    }
}
