using Containerd.Shim.Logging;
using Containerd.Shim.Native;
using Containerd.Shim.Reaper;
using Containerd.Shim.Runc;
using Containerd.Shim.Teardown;
using Microsoft.Extensions.Logging;

namespace Containerd.Shim.Cli;

/// <summary>
/// <c>containerd-shim delete ...</c>: cleans up after a dead shim, so that only
/// the shim knows how to drive runc. No server is started. Success: exit 0 and
/// one line on stdout (<see cref="DeleteOutcome"/>). Failure: non-zero exit and
/// one line on stderr with the reason (runc's own words where runc failed).
/// Logs go to BUNDLE/shim.log like the server's.
/// </summary>
internal static class DeleteCommand
{
    private const int Failed = 1;

    public static async Task<int> RunAsync(string[] args)
    {
        DeleteOptions options;
        try
        {
            options = DeleteOptions.Parse(args);
        }
        catch (ArgumentException e)
        {
            // One line, as every failure of this command: the daemon reads it as the reason.
            RawOutput.Write(RawOutput.Stderr, $"containerd-shim delete: {e.Message} ({ShimOptions.DeleteUsage})\n");
            return Failed;
        }

        int logFd;
        try
        {
            logFd = LogFile.Open(options.Bundle.ShimLogFile);
        }
        catch (IOException e)
        {
            RawOutput.Write(RawOutput.Stderr, $"containerd-shim delete {options.Namespace}/{options.Id}: {e.Message}\n");
            return Failed;
        }

        using var loggers = LoggerFactory.Create(logging =>
        {
            logging.AddProvider(new FileLoggerProvider(logFd, options.Bundle.ShimLogFile, options.Id, options.Namespace, Environment.ProcessId));
            logging.SetMinimumLevel(options.LogLevel);
        });
        var logger = loggers.CreateLogger(typeof(DeleteCommand).FullName!);
        using var spawner = new ProcessSpawner();
        var reaper = new ChildReaper(loggers.CreateLogger<ChildReaper>());
        reaper.Start();

        var runtime = options.ResolveRuntime();
        var runc = new RuncClient(runtime, options.RuntimeRoot, options.Bundle, spawner, reaper, loggers.CreateLogger<RuncClient>());
        var container = new RuncContainer(runc, options.Id);
        var teardown = new ContainerTeardown(container, options.Bundle, loggers.CreateLogger<ContainerTeardown>());
        var cleanup = new DeadShimCleanup(container, teardown, options.Bundle, loggers.CreateLogger<DeadShimCleanup>());
        logger.LogInformation("delete: cleaning up after a dead shim (runtime {Runtime}, root {RuntimeRoot})", runtime, options.RuntimeRoot);
        try
        {
            var outcome = await cleanup.RunAsync().ConfigureAwait(false);
            RawOutput.Write(RawOutput.Stdout, outcome.Format() + "\n");
            return 0;
        }
        catch (Exception e) when (e is RuncException or IOException or UnauthorizedAccessException)
        {
            logger.LogError("delete failed: {Error}", e.Message);
            RawOutput.Write(RawOutput.Stderr, $"containerd-shim delete {options.Namespace}/{options.Id}: {OneLine(e.Message)}\n");
            return Failed;
        }
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();
}
