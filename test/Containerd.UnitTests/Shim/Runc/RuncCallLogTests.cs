using System.Collections.Concurrent;
using Containerd.Shared.Bundles;
using Containerd.Shim.Native;
using Containerd.Shim.Reaper;
using Containerd.Shim.Runc;
using Microsoft.Extensions.Logging.Abstractions;

namespace Containerd.UnitTests.Shim.Runc;

public sealed class RuncCallLogTests
{
    [Test]
    public void Each_call_has_its_own_log_in_the_bundle_even_when_calls_run_at_once()
    {
        var bundle = new TaskBundle("/run/test/tasks/ns/c1");
        using var spawner = new ProcessSpawner();
        // Never started: naming a log spawns nothing and reaps nothing.
        var reaper = new ChildReaper(NullLogger<ChildReaper>.Instance);
        var runc = new RuncClient("runc", "/run/test/runc", bundle, spawner, reaper, NullLogger<RuncClient>.Instance);

        var names = new ConcurrentBag<string>();
        Parallel.For(0, 1000, _ => names.Add(runc.NextLogFile()));

        Assert.That(names.Distinct().Count(), Is.EqualTo(1000));
        Assert.That(names.Select(Path.GetDirectoryName), Is.All.EqualTo(bundle.Directory));
        Assert.That(names.Select(Path.GetFileName), Is.All.Matches("^runc-log\\.[0-9]+\\.json$"));
    }

    [Test]
    public void A_call_log_never_collides_with_the_bundles_other_files()
    {
        var bundle = new TaskBundle("/b");
        string[] others =
        [
            bundle.ConfigFile, bundle.RuncLogFile, bundle.ShimLogFile, bundle.InitPidFile, bundle.ShimPidFile,
            bundle.RuntimeFile, bundle.EventSequenceFile, bundle.ExecSpecFile("exec-1"), bundle.ExecPidFile("exec-1"),
        ];
        Assert.That(new[] { 1L, 2L, long.MaxValue }.Select(bundle.RuncCallLogFile), Is.All.Not.AnyOf(others));
        Assert.That(bundle.RuncCallLogFile(7), Is.EqualTo("/b/runc-log.7.json"));
        Assert.That(TaskBundle.RuncCallLogName(7), Is.EqualTo("runc-log.7.json"));
    }
}
