using Containerd.Daemon.Native;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Containerd.Daemon.Metadata;

/// <summary>
/// Notices the metadata database being deleted or replaced under the running
/// daemon. SQLite keeps writing to the file it has open, so such a change
/// would otherwise show only at the next start, as every record gone.
/// </summary>
public sealed class MetadataFileWatch(ContainerStore store, ILogger<MetadataFileWatch> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var path = store.DatabasePath;
        var expected = FileType.Inode(path);
        using var timer = new PeriodicTimer(Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                var current = FileType.Inode(path);
                if (current == expected)
                    continue;
                // Once per change: the operator needs the news, not a flood.
                if (current is null)
                    logger.LogError("metadata database {Path} was deleted while the daemon runs (inode {Expected}); records written until the daemon restarts will be lost", path, expected);
                else
                    logger.LogError("metadata database {Path} was replaced while the daemon runs (inode {Expected} is now {Current}); the daemon keeps using the old file until it restarts", path, expected, current);
                expected = current;
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
