using System.Runtime;

namespace Containerd.Daemon.Hosting;

/// <summary>
/// No garbage collection from process start until the daemon serves (bounded
/// by <see cref="Budget"/>: past it the GC simply runs), then the normal small
/// gen0 budget. The memory start-up used is returned by the aggressive
/// collection DaemonHost runs shortly after.
/// </summary>
internal static class StartupGc
{
    private const long Budget = 16 * 1024 * 1024;

    public static void Begin()
    {
        try
        {
            GC.TryStartNoGCRegion(Budget, disallowFullBlockingGC: true);
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or InvalidOperationException)
        {
        }
    }

    public static void End()
    {
        if (GCSettings.LatencyMode != GCLatencyMode.NoGCRegion)
            return; // the budget ran out: the GC already left the region
        try
        {
            GC.EndNoGCRegion();
        }
        catch (InvalidOperationException)
        {
        }
    }
}
