using System.Net.Sockets;
using System.Runtime.InteropServices;
using Containerd.LeanGrpc.Calls;
using Containerd.LeanGrpc.Transport;
using Containerd.Shared.Bundles;
using Containerd.Shared.Native;
using Containerd.Shim.Events;
using Containerd.Shim.Logging;
using Containerd.Shim.Native;
using Containerd.Shim.Reaper;
using Containerd.Shim.Runc;
using Containerd.Shim.Service;
using Containerd.Shim.Teardown;
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
    // In-flight calls get this long to finish once a stop is asked for (Kestrel's shutdown timeout before).
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(3);

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
        Shim? shim = null;
        var socketIsOurs = false;
        try
        {
            BecomeSessionLeaderAndSubreaper();
            PrepareSocketDirectory(options.Socket);
            logFd = LogFile.Open(options.Bundle.ShimLogFile);
            logProvider = new FileLoggerProvider(logFd, options.Bundle.ShimLogFile, options.Id, options.Namespace, Environment.ProcessId);

            shim = Compose(options, logProvider);
            shim.Reaper.Start();
            RemoveStaleSocket(options.Socket);

            // The socket must never be reachable by others, not even for an
            // instant: create it under umask 077 (the directory is 0700 too).
            // The umask is restored at once because runc and the container
            // processes inherit it.
            var previousMask = Libc.Umask(0x3F);
            try
            {
                socketIsOurs = true;
                shim.Server.Start(options.Socket);
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
            if (shim is not null)
            {
                try
                {
                    await shim.Server.StopAsync(TimeSpan.Zero).ConfigureAwait(false);
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
        var logger = shim.Loggers.CreateLogger("Containerd.Shim.Host");
        logger.LogInformation("shim ready on {Socket} (runtime {Runtime}, root {RuntimeRoot})", options.Socket, options.Runtime, options.RuntimeRoot);

        // SIGTERM/SIGINT stop the shim the way the Shutdown RPC does (minus the task's teardown).
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnStopSignal);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnStopSignal);

        // Start-up garbage is most of the heap; one compacting collection
        // returns it to the OS, which matters with one shim per container.
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);

        await shim.Lifetime.StopRequested.ConfigureAwait(false);
        await shim.Server.StopAsync(StopGrace).ConfigureAwait(false);
        logger.LogInformation("shim stopped ({Gen0} gen0, {Gen2} gen2 collections)", GC.CollectionCount(0), GC.CollectionCount(2));
        File.Delete(options.Socket);
        RemovePidFile(options.Bundle);
        shim.Loggers.Dispose();
        return 0;

        void OnStopSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            shim.Lifetime.StopSoon();
        }
    }

    /// <summary>
    /// The shim's objects, wired by hand: a dependency-injection container and
    /// a generic host cost memory and start-up time that one process per
    /// container pays many times over.
    /// </summary>
    private static Shim Compose(ShimOptions options, FileLoggerProvider logProvider)
    {
        var filters = new LoggerFilterOptions { MinLevel = options.LogLevel };
        // The gRPC server's own chatter only at warning, unless tracing.
        filters.Rules.Add(new LoggerFilterRule(null, "Containerd.LeanGrpc", options.LogLevel == LogLevel.Trace ? LogLevel.Trace : LogLevel.Warning, null));
        var loggers = new LoggerFactory([logProvider], filters);

        var spawner = new ProcessSpawner();
        var reaper = new ChildReaper(loggers.CreateLogger<ChildReaper>());
        var runc = new RuncClient(options.Runtime, options.RuntimeRoot, options.Bundle, spawner, reaper, loggers.CreateLogger<RuncClient>());
        var container = new RuncContainer(runc, options.Id);
        var teardown = new ContainerTeardown(container, options.Bundle, loggers.CreateLogger<ContainerTeardown>());
        var events = new EventQueue();
        var taskEvents = new TaskEvents(events, options, loggers.CreateLogger<TaskEvents>());
        var task = new ShimTask(options, container, teardown, reaper, taskEvents, loggers);
        var lifetime = new ShimLifetime();
        var service = new ShimService(task, events, lifetime, options, loggers.CreateLogger<ShimService>());

        var methods = new MethodRegistry();
        Api.Shim.Shim.BindService(methods, service);
        var server = new GrpcServer(methods, loggers.CreateLogger("Containerd.LeanGrpc"));
        return new Shim(loggers, reaper, lifetime, server);
    }

    private sealed record Shim(LoggerFactory Loggers, ChildReaper Reaper, ShimLifetime Lifetime, GrpcServer Server);

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
