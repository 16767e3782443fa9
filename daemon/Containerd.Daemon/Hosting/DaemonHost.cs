using Containerd.Daemon.Containers;
using Containerd.Daemon.Cri;
using Containerd.Daemon.Cri.Containers;
using Containerd.Daemon.Cri.Images;
using Containerd.Daemon.Cri.Network;
using Containerd.Daemon.Cri.Common;
using Containerd.Daemon.Cri.Sandboxes;
using Containerd.Daemon.Cri.Stats;
using Containerd.Daemon.Cri.Store;
using Containerd.Daemon.Content;
using Containerd.Daemon.Events;
using Containerd.Daemon.Images;
using Containerd.Daemon.Images.Distribution;
using Containerd.Daemon.Metadata;
using Containerd.Daemon.Shims;
using Containerd.Daemon.Snapshots;
using Containerd.Daemon.Tasks;
using Containerd.Daemon.Versioning;
using Containerd.Http2;
using Containerd.Shared.Native;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Containerd.Daemon.Hosting;

/// <summary>
/// Runs the daemon: claims the state directory and the socket, opens the
/// metadata store, re-attaches tasks found on disk, then serves gRPC until
/// SIGTERM/SIGINT. Stopping leaves every shim (and so every container) running.
/// </summary>
public static class DaemonHost
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode Traversable = OwnerOnly | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
    private const UnixFileMode SocketMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    // Two names, so a daemon whose --root and --state are one directory does not lock itself out.
    private const string StateLockFile = "daemon.lock";
    private const string RootLockFile = "root.lock";
    private const int MaxMessageBytes = 16 * 1024 * 1024;

    public static async Task<int> RunAsync(DaemonOptions options, CancellationToken cancellationToken)
    {
        try
        {
            return await RunCoreAsync(options, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"containerd: {e.Message}").ConfigureAwait(false);
            return 1;
        }
    }

    private static async Task<int> RunCoreAsync(DaemonOptions options, CancellationToken cancellationToken)
    {
        EnsureDirectory(options.State, Traversable);
        EnsureDirectory(Path.Combine(options.State, "tasks"), OwnerOnly);
        EnsureDirectory(options.Root, OwnerOnly);

        // Two daemons sharing one state directory would clean up each other's
        // tasks; two sharing one root would edit each other's records.
        var stateLock = DirectoryLock.TryAcquire(options.State, StateLockFile);
        if (stateLock is null)
        {
            await Console.Error.WriteLineAsync(
                $"containerd: another daemon is using the state directory {options.State}").ConfigureAwait(false);
            return 1;
        }
        await using var stateHeld = stateLock.ConfigureAwait(false);
        var rootLock = DirectoryLock.TryAcquire(options.Root, RootLockFile);
        if (rootLock is null)
        {
            await Console.Error.WriteLineAsync(
                $"containerd: another daemon is using the root directory {options.Root}").ConfigureAwait(false);
            return 1;
        }
        await using (rootLock.ConfigureAwait(false))
        {
            var refusal = await SocketGuard.PrepareAsync(options.Address, cancellationToken).ConfigureAwait(false);
            if (refusal is not null)
            {
                await Console.Error.WriteLineAsync($"containerd: {refusal}").ConfigureAwait(false);
                return 1;
            }

            var app = Build(options);
            await using (app.ConfigureAwait(false))
            {
                return await ServeAsync(app, options, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static async Task<int> ServeAsync(WebApplication app, DaemonOptions options, CancellationToken cancellationToken)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("containerd");
        if (options.Shim is null)
            logger.LogWarning("no shim binary found (containerd-shim beside the daemon or on PATH); task creation will fail until --shim is given");
        if (!File.Exists(options.Runtime))
            logger.LogWarning("runtime {Runtime} not found; task creation will fail", options.Runtime);

        // Every shim is re-attached before the socket listens and before systemd
        // hears READY=1 (sent when the host has started, below): a client that can
        // connect, or a unit ordered after ours, sees every task that survived.
        // Recovery works from the state directory alone, so the database's check
        // runs beside it; a damaged database still stops the daemon before it serves.
        // Mapping the gRPC services (method discovery builds generic code at run time
        // under Native AOT: tens of milliseconds) overlaps the walk too.
        var recoveryClock = System.Diagnostics.Stopwatch.StartNew();
        var recovery = Task.Run(() => app.Services.GetRequiredService<TaskRecovery>().RecoverAsync(cancellationToken), cancellationToken);
        try
        {
            MapServices(app);
            RemoveIngestLeftovers(app, logger);
            await app.Services.GetRequiredService<ContainerStore>().InitializeAsync(cancellationToken).ConfigureAwait(false);
            await app.Services.GetRequiredService<ImageStore>().InitializeAsync(cancellationToken).ConfigureAwait(false);
            await app.Services.GetRequiredService<LeaseStore>().InitializeAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // The daemon stops here: let the walk finish first, so nothing is half re-attached while the host is torn down.
            await Task.WhenAny(recovery).ConfigureAwait(false);
            throw;
        }
        var recovered = await recovery.ConfigureAwait(false);
        logger.LogInformation("recovered {Count} tasks in {Milliseconds} ms", recovered, recoveryClock.ElapsedMilliseconds);

        await CollectGarbageAsync(app, logger, cancellationToken).ConfigureAwait(false);

        // The CRI's records, then its exit monitor: subscribed before the socket listens,
        // so the EXITs replayed by recovery are its own, and settled before a kubelet asks.
        await app.Services.GetRequiredService<CriStore>().InitializeAsync(cancellationToken).ConfigureAwait(false);
        await app.Services.GetRequiredService<CriExitMonitor>().StartAsync(app.Lifetime.ApplicationStopping).ConfigureAwait(false);

        var exchange = app.Services.GetRequiredService<EventExchange>();
        app.Lifetime.ApplicationStopping.Register(exchange.CloseAll);

        // Kestrel creates the socket with the process umask; narrow it so the
        // socket is never world-accessible, not even between bind and chmod.
        var previousUmask = Libc.Umask(0b001_111_111); // octal 0177
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Libc.Umask(previousUmask);
        }
        File.SetUnixFileMode(options.Address, SocketMode);
        StartupGc.End();
        logger.LogInformation("containerd serving on {Address} (root {Root}, state {State}, runtime {Runtime}, shim {Shim}, config {ConfigFile})",
            options.Address, options.Root, options.State, options.Runtime, options.Shim ?? "none", options.ConfigFile ?? "none");

        // Start-up (recovery, the first calls' code paths) leaves garbage the small gen0 budget
        // will not revisit for a while: one compacting collection returns it, once the first
        // client has been served rather than in its way.
        _ = Task.Delay(TimeSpan.FromSeconds(2), app.Lifetime.ApplicationStopping).ContinueWith(
            delayed => { if (!delayed.IsCanceled) GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true); },
            CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);

        await app.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);

        // Deletes that answered before their shim and bundle were gone: finish them (bounded;
        // what is left is what a killed daemon leaves, and the next start-up removes it).
        await app.Services.GetRequiredService<ShimManager>().WaitForAllTeardownsAsync(options.Timeouts.HostShutdown)
            .ConfigureAwait(false);

        await app.Services.GetRequiredService<TaskLifecycle>().DetachAllAsync().ConfigureAwait(false);
        try
        {
            if (FileTypeIsSocket(options.Address))
                File.Delete(options.Address);
        }
        catch (IOException)
        {
        }
        logger.LogInformation("containerd stopped; tasks keep running");
        return 0;
    }

    /// <summary>
    /// Content writes a crashed daemon left half done: never visible (a blob appears
    /// only by its rename), but they take space. Nothing writes before the daemon
    /// serves, and the root's lock keeps any other daemon out.
    /// </summary>
    private static void RemoveIngestLeftovers(WebApplication app, ILogger logger)
    {
        try
        {
            var removed = app.Services.GetRequiredService<ContentStore>().RemoveIngestLeftovers();
            if (removed > 0)
                logger.LogInformation("removed {Count} unfinished content writes", removed);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Leftovers only cost space; the next start-up tries again.
            logger.LogWarning("could not remove unfinished content writes: {Error}", e.Message);
        }
    }

    /// <summary>
    /// What a crash left without an owner: snapshots (an unpack that died before its
    /// commit, a container whose record went while the daemon was down) and the blobs of
    /// pulls cut short, which their leases name (no pull survives a restart, so every
    /// lease is stale). Before serving, so nothing is using them; a failure only costs
    /// space, and the leases stay for the next start-up to try again.
    /// </summary>
    private static async Task CollectGarbageAsync(WebApplication app, ILogger logger, CancellationToken cancellationToken)
    {
        try
        {
            var leases = app.Services.GetRequiredService<LeaseStore>();
            var leased = await leases.DigestsAsync(null, cancellationToken).ConfigureAwait(false);
            var (blobs, _) = await app.Services.GetRequiredService<ImageGc>().CollectAsync(leased, cancellationToken).ConfigureAwait(false);
            if (leased.Count > 0)
            {
                await leases.ReleaseAsync(null, cancellationToken).ConfigureAwait(false);
                logger.LogInformation("start-up: {Blobs} of {Leased} blobs of interrupted pulls collected", blobs, leased.Count);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Garbage only costs space: the daemon serves anyway, and the next collection tries again.
            logger.LogWarning("start-up garbage collection failed: {Error}", e.Message);
        }
    }

    private static bool FileTypeIsSocket(string path) => Native.FileType.IsSocket(path);

    private static WebApplication Build(DaemonOptions options)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions
        {
            ContentRootPath = AppContext.BaseDirectory,
        });

        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(console =>
        {
            console.SingleLine = true;
            console.IncludeScopes = false;
            console.UseUtcTimestamp = true;
            console.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
        });
        builder.Services.Configure<ConsoleLoggerOptions>(console => console.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Logging.SetMinimumLevel(options.LogLevel);
        // Per-request framework chatter would drown the daemon's own messages.
        var frameworkLevel = options.LogLevel > LogLevel.Warning ? options.LogLevel : LogLevel.Warning;
        builder.Logging.AddFilter("Microsoft", frameworkLevel);
        builder.Logging.AddFilter("Grpc", frameworkLevel);

        builder.Services.AddSystemd();
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = options.Timeouts.HostShutdown);

        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.ListenUnixSocket(options.Address, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                // Go clients send the socket path as :authority, which Kestrel would reset.
                listen.UseAuthorityRewrite(listen.ApplicationServices.GetService<ILoggerFactory>()?.CreateLogger("Containerd.Daemon.Authority"));
            });
        });
        builder.Services.AddRoutingCore();
        // With no check registered the overall status would be UNKNOWN; serving at all means healthy here.
        builder.Services.AddGrpcHealthChecks().AddCheck("containerd", () => HealthCheckResult.Healthy());
        builder.Services.AddGrpc(grpc =>
        {
            // As containerd: specs and process lists can be large.
            grpc.MaxReceiveMessageSize = MaxMessageBytes;
            grpc.MaxSendMessageSize = MaxMessageBytes;
            grpc.Interceptors.Add<ErrorInterceptor>();
            grpc.EnableDetailedErrors = false;
        });
        builder.Services.AddGrpcReflection();
        PrebuiltServiceMethods.Register(builder.Services);

        var layout = new StateLayout(options.State);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(layout);
        builder.Services.AddSingleton(new ContainerStore(options.MetadataDatabase));
        builder.Services.AddSingleton(new ContentStore(options.ContentRoot));
        builder.Services.AddSingleton<IContentStore>(services => services.GetRequiredService<ContentStore>());
        builder.Services.AddSingleton(new ImageStore(options.MetadataDatabase));
        builder.Services.AddSingleton(new LeaseStore(options.MetadataDatabase));
        builder.Services.AddSingleton<ImageResolver>();
        builder.Services.AddSingleton<GcGate>();
        builder.Services.AddSingleton<ImageGc>();
        builder.Services.AddSingleton<ContainerSnapshots>();
        builder.Services.AddSingleton<ISnapshotter>(new OverlaySnapshotter(options.OverlaySnapshotsRoot));
        builder.Services.AddSingleton<ILayerApplier>(new LayerApplier());
        builder.Services.AddSingleton<IUnpacker, Unpacker>();
        builder.Services.AddSingleton(new RegistryHosts(options.RegistryConfigPath));
        builder.Services.AddSingleton<RegistryHttpClients>();
        builder.Services.AddSingleton<IImagePuller, ImagePuller>();
        builder.Services.AddHostedService<MetadataFileWatch>();
        builder.Services.AddSingleton<ContainerLocks>();
        builder.Services.AddSingleton<EventExchange>(services => new EventExchange(
            logger: services.GetRequiredService<ILogger<EventExchange>>(),
            store: new EventBacklogStore(Path.Combine(layout.StateRoot, "events"), services.GetRequiredService<ILogger<EventBacklogStore>>())));
        builder.Services.AddSingleton<TaskRegistry>();
        builder.Services.AddSingleton<RuntimeResolver>();
        builder.Services.AddSingleton<ShimDeleteCommand>();
        builder.Services.AddSingleton<ShimManager>();
        builder.Services.AddSingleton<CrashPoints>();
        builder.Services.AddSingleton<TombstoneStore>();
        builder.Services.AddSingleton<ShimLogWatch>();
        builder.Services.AddSingleton<TaskCheckpoints>();
        builder.Services.AddSingleton<TaskLifecycle>();
        builder.Services.AddSingleton<TaskRecovery>();
        builder.Services.AddSingleton<ContainerRecords>();
        AddCri(builder.Services, options);

        return builder.Build();
    }

    /// <summary>The kubelet's runtime (CRI): in-process over the same stores, tasks and shims.</summary>
    private static void AddCri(IServiceCollection services, DaemonOptions options)
    {
        services.AddSingleton(new CriStore(options.MetadataDatabase));
        services.AddSingleton<CriLocks>();
        services.AddSingleton<CriTasks>();
        services.AddSingleton<CriUsers>();
        services.AddSingleton<CriStatus>();
        services.AddSingleton<ImagePulls>();
        services.AddSingleton<CriImages>();
        services.AddSingleton(new SandboxFileLayout(options.CriRoot, options.CriState));
        services.AddSingleton(services => new CniNetwork(
            new CniOptions
            {
                ConfDir = options.Cri.CniConfDir,
                PluginDirs = options.Cri.CniBinDirs,
                CacheDir = Path.Combine(options.CriState, "cni-results"),
            },
            services.GetRequiredService<ILogger<CniNetwork>>()));
        services.AddSingleton<SandboxManager>();
        services.AddSingleton<ContainerManager>();
        services.AddSingleton<ExecSyncRunner>();
        services.AddSingleton<CriStatsReader>();
        services.AddSingleton<CriExitMonitor>();
    }

    /// <summary>The gRPC endpoints; before the host starts (it builds its pipeline then).</summary>
    internal static void MapServices(WebApplication app)
    {
        app.UseRouting();
        app.MapGrpcService<TasksService>();
        app.MapGrpcService<ContainersService>();
        app.MapGrpcService<VersionService>();
        app.MapGrpcService<ContentService>();
        app.MapGrpcService<ImagesService>();
        app.MapGrpcService<PullService>();
        app.MapGrpcService<CriRuntimeService>();
        app.MapGrpcService<CriImageService>();
        // Generic gRPC tools (grpc_health_probe, grpcurl) can probe and discover the daemon.
        app.MapGrpcHealthChecksService();
        app.MapGrpcReflectionService();
    }

    private static void EnsureDirectory(string path, UnixFileMode mode)
    {
        if (!Directory.Exists(path))
            Directory.CreateDirectory(path, mode);
    }
}
