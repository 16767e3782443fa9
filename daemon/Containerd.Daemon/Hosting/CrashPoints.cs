using Containerd.Shared.Native;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Containerd.Daemon.Hosting;

/// <summary>
/// Test-only crash injection. With <c>CONTAINERD_TEST_CRASH_AT=STEP</c> in its
/// environment the daemon kills itself with SIGKILL when a Tasks.Create
/// reaches STEP, exactly as an operator's <c>kill -9</c> would (no finally
/// block, no flush), so tests can prove that a restart leaves every partial
/// create either a valid task or nothing at all. With
/// <c>CONTAINERD_TEST_HOLD_AT=STEP</c> a Create instead waits at STEP until the
/// daemon starts stopping, so a test's SIGTERM is sure to land while a Create
/// is in flight. Unset, each costs one string comparison per step.
/// </summary>
public sealed class CrashPoints(DaemonOptions options, IHostApplicationLifetime lifetime, ILogger<CrashPoints> logger)
{
    public const string EnvironmentVariable = "CONTAINERD_TEST_CRASH_AT";

    public const string HoldEnvironmentVariable = "CONTAINERD_TEST_HOLD_AT";

    /// <summary>The bundle (config.json, runtime) is on disk; no shim yet.</summary>
    public const string BundleWritten = "bundle-written";

    /// <summary>The shim runs and listens; it was not asked to create anything.</summary>
    public const string ShimStarted = "shim-started";

    /// <summary>The shim was asked to create and runc create is running (its state directory exists).</summary>
    public const string RuntimeCreating = "runtime-creating";

    /// <summary>The shim created the container; the daemon has not registered the task.</summary>
    public const string ShimCreated = "shim-created";

    /// <summary>
    /// Not a Create step: a Delete answered, and its background teardown saw the
    /// shim exit but has not removed the bundle yet.
    /// </summary>
    public const string TeardownShimExited = "teardown-shim-exited";

    /// <summary>Not a Create step: a pull stored every blob (under its lease) and has not written the image record.</summary>
    public const string PullDownloaded = "pull-downloaded";

    public static readonly IReadOnlyList<string> All = [BundleWritten, ShimStarted, RuntimeCreating, ShimCreated, TeardownShimExited, PullDownloaded];

    /// <summary>Where a Create can be held: the daemon's own steps (runc's create runs in the shim, which no hold stops).</summary>
    public static readonly IReadOnlyList<string> Holdable = [BundleWritten, ShimStarted, ShimCreated];

    public bool IsArmed(string step) => options.CrashAt == step;

    /// <summary>Dies here when armed for <paramref name="step"/>.</summary>
    public void At(string step)
    {
        if (!IsArmed(step))
            return;
        logger.LogCritical("{Variable}={Step}: killing the daemon (SIGKILL)", EnvironmentVariable, step);
        Libc.Kill(Environment.ProcessId, 9);
        // SIGKILL to ourselves is delivered before kill returns; this is never reached.
        Environment.FailFast($"crash point {step}");
    }

    /// <summary>A Create reached <paramref name="step"/>: dies there or waits there when armed for it.</summary>
    public async Task ReachedAsync(string step, CancellationToken cancellationToken)
    {
        At(step);
        if (options.HoldAt != step)
            return;
        logger.LogWarning("{Variable}={Step}: holding the create until the daemon stops", HoldEnvironmentVariable, step);
        using var released = CancellationTokenSource.CreateLinkedTokenSource(lifetime.ApplicationStopping, cancellationToken);
        try
        {
            await Task.Delay(Timeout.Infinite, released.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
        }
        logger.LogWarning("{Variable}={Step}: the daemon is stopping; the create goes on", HoldEnvironmentVariable, step);
    }

    /// <summary>
    /// Armed for <see cref="RuntimeCreating"/>: waits until runc's state directory
    /// for the container exists (runc makes it first, then starts the
    /// container's init) or <paramref name="create"/> ends, then dies.
    /// </summary>
    public async Task WhileRuntimeCreatesAsync(string runtimeStateDirectory, Task create)
    {
        if (!IsArmed(RuntimeCreating))
            return;
        while (!create.IsCompleted && !Directory.Exists(runtimeStateDirectory))
            await Task.Delay(1).ConfigureAwait(false);
        At(RuntimeCreating);
    }
}
