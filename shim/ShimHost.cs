using System.Net.Sockets;
using Containerd.Shared.Bundles;
using Containerd.Shared.Native;
using Containerd.Shim.Events;
using Containerd.Shim.Logging;
using Containerd.Shim.Native;
using Containerd.Shim.Reaper;
using Containerd.Shim.Runc;
using Containerd.Shim.Service;
using Containerd.Shim.Teardown;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Containerd.Shim;

/// <summary>
/// Start-up and shut-down of one shim: own session, child subreaper, a
/// root-only filesystem socket, then "ready" on stdout and the parent's stdio
/// let go, so the shim outlives the daemon that started it. The shim records
/// its own pid in the bundle before anything else, so a daemon (or its
/// successor) can always find the shim it started, even one that died while
/// starting.
/// </summary>
internal static class ShimHost
{
    private const int OwnerOnlyDirectory = 0x1C0; // 0700
    private const int OwnerOnlyFile = 0x180; // 0600 (the socket)

    public static async Task<int> RunAsync(string[] args)
    {
        ShimOptions options;
        try
        {
            options = ShimOptions.Parse(args);
        }
        catch (ArgumentException e)
        {
            RawOutput.Write(RawOutput.Stderr, $"containerd-shim: {e.Message}\n{ShimOptions.Usage}\n");
            return 1;
        }

        try
        {
            PidFile.Write(options.Bundle.ShimPidFile, Environment.ProcessId);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            RawOutput.Write(RawOutput.Stderr, $"containerd-shim {options.Namespace}/{options.Id}: cannot write {options.Bundle.ShimPidFile}: {e.Message}\n");
            return 1;
        }

        var logFd = -1;
        FileLoggerProvider? logProvider = null;
        WebApplication? app = null;
        var socketIsOurs = false;
        try
        {
            BecomeSessionLeaderAndSubreaper();
            PrepareSocketDirectory(options.Socket);
            logFd = LogFile.Open(options.Bundle.ShimLogFile);
            logProvider = new FileLoggerProvider(logFd, options.Bundle.ShimLogFile, options.Id, options.Namespace, Environment.ProcessId);

            app = Build(options, logProvider);
            app.Services.GetRequiredService<ChildReaper>().Start();
            RemoveStaleSocket(options.Socket);

            // The socket must never be reachable by others, not even for an
            // instant: create it under umask 077 (the directory is 0700 too).
            // The umask is restored at once because runc and the container
            // processes inherit it.
            var previousMask = Libc.Umask(0x3F);
            try
            {
                socketIsOurs = true;
                await app.StartAsync().ConfigureAwait(false);
            }
            finally
            {
                Libc.Umask(previousMask);
            }
            if (Libc.Chmod(options.Socket, OwnerOnlyFile) != 0)
                throw new IOException($"cannot chmod {options.Socket}: {Libc.ErrorText(Libc.LastError)}");
        }
        catch (Exception e)
        {
            RawOutput.Write(RawOutput.Stderr, $"containerd-shim {options.Namespace}/{options.Id}: {e.Message}\n");
            if (app is not null)
            {
                try
                {
                    await app.StopAsync().ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // Already failing; the start-up error is what matters.
                }
            }
            if (socketIsOurs)
                File.Delete(options.Socket);
            RemovePidFile(options.Bundle);
            return 1;
        }

        RawOutput.Write(RawOutput.Stdout, "ready\n");
        DetachStdio(logFd);
        logProvider!.StderrFollows();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Containerd.Shim.Host");
        logger.LogInformation("shim ready on {Socket} (runtime {Runtime}, root {RuntimeRoot})", options.Socket, options.Runtime, options.RuntimeRoot);

        // Start-up garbage is most of the heap; one compacting collection
        // returns it to the OS, which matters with one shim per container.
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);

        await app.WaitForShutdownAsync().ConfigureAwait(false);
        logger.LogInformation("shim stopped ({Gen0} gen0, {Gen2} gen2 collections)", GC.CollectionCount(0), GC.CollectionCount(2));
        File.Delete(options.Socket);
        RemovePidFile(options.Bundle);
        await app.DisposeAsync().ConfigureAwait(false);
        return 0;
    }

    private static WebApplication Build(ShimOptions options, FileLoggerProvider logProvider)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ContentRootPath = options.Bundle.Directory });
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.ListenUnixSocket(options.Socket, listen => listen.Protocols = HttpProtocols.Http2);
        });
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(3));

        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(logProvider);
        builder.Logging.SetMinimumLevel(options.LogLevel);
        // The framework's own chatter only at warning, unless tracing.
        builder.Logging.AddFilter("Microsoft", options.LogLevel == LogLevel.Trace ? LogLevel.Trace : LogLevel.Warning);
        builder.Logging.AddFilter("Grpc", options.LogLevel == LogLevel.Trace ? LogLevel.Trace : LogLevel.Warning);

        builder.Services.AddGrpc();
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<ProcessSpawner>();
        builder.Services.AddSingleton<ChildReaper>();
        builder.Services.AddSingleton(services => new RuncClient(
            options.Runtime, options.RuntimeRoot, options.Bundle,
            services.GetRequiredService<ProcessSpawner>(), services.GetRequiredService<ChildReaper>(), services.GetRequiredService<ILogger<RuncClient>>()));
        builder.Services.AddSingleton(services => new RuncContainer(services.GetRequiredService<RuncClient>(), options.Id));
        builder.Services.AddSingleton(services => new ContainerTeardown(
            services.GetRequiredService<RuncContainer>(), options.Bundle, services.GetRequiredService<ILogger<ContainerTeardown>>()));
        builder.Services.AddSingleton<EventQueue>();
        builder.Services.AddSingleton<TaskEvents>();
        builder.Services.AddSingleton<ShimTask>();
        builder.Services.AddSingleton<ShimLifetime>();
        builder.Services.AddSingleton<ShimService>();

        var app = builder.Build();
        app.MapGrpcService<ShimService>();
        return app;
    }

    private static void BecomeSessionLeaderAndSubreaper()
    {
        // Own session: signals to the daemon's process group (e.g. Ctrl-C on a
        // foreground daemon) must not reach the shim. EPERM means it already leads one.
        if (Posix.SetSid() < 0 && Libc.LastError != Posix.EPERM)
            throw new IOException($"setsid: {Libc.ErrorText(Libc.LastError)}");
        if (Posix.Prctl(Posix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
            throw new IOException($"prctl(PR_SET_CHILD_SUBREAPER): {Libc.ErrorText(Libc.LastError)}");
    }

    private static void PrepareSocketDirectory(string socket)
    {
        var directory = Path.GetDirectoryName(socket) ?? "/";
        Directory.CreateDirectory(directory);
        const UnixFileMode ownerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        if (File.GetUnixFileMode(directory) != ownerOnly && Libc.Chmod(directory, OwnerOnlyDirectory) != 0)
            throw new IOException($"cannot make {directory} private (0700): {Libc.ErrorText(Libc.LastError)}");
    }

    /// <summary>A socket file left by a dead shim is removed; one a live shim listens on is an error.</summary>
    private static void RemoveStaleSocket(string socket)
    {
        if (!File.Exists(socket))
            return;
        using (var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            try
            {
                probe.Connect(new UnixDomainSocketEndPoint(socket));
                throw new IOException($"another shim is listening on {socket}");
            }
            catch (SocketException)
            {
                // Nobody listens: stale.
            }
        }
        File.Delete(socket);
    }

    /// <summary>Only while it still names this shim: a second shim started for the same bundle may have written its own.</summary>
    private static void RemovePidFile(TaskBundle bundle)
    {
        if (PidFile.TryRead(bundle.ShimPidFile) == Environment.ProcessId)
            File.Delete(bundle.ShimPidFile);
    }

    /// <summary>
    /// Lets go of the parent's stdio: a daemon reading our stdout/stderr must
    /// see EOF, and a dead daemon must not make our writes fail with EPIPE.
    /// Runtime errors written to stderr land in the log.
    /// </summary>
    private static void DetachStdio(int logFd)
    {
        var devNull = Libc.Open("/dev/null", Libc.O_RDWR | Libc.O_CLOEXEC, 0);
        if (devNull >= 0)
        {
            Libc.Dup2(devNull, 0);
            Libc.Dup2(devNull, 1);
            Libc.Close(devNull);
        }
        Libc.Dup2(logFd, 2);
    }
}
