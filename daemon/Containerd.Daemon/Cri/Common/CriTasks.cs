using Containerd.Daemon.Tasks;
using Grpc.Core;
using ExecutionApi = Containerd.Api.Execution;
using Types = Containerd.Api.Types;

namespace Containerd.Daemon.Cri.Common;

/// <summary>
/// The Tasks API as the CRI adapter uses it, in-process and in the namespace
/// k8s.io: the same lifecycle and the same shims as a ctr user's tasks.
/// </summary>
public sealed class CriTasks(TaskLifecycle lifecycle, TaskRegistry registry)
{
    public const uint SigKill = 9;
    public const uint SigTerm = 15;

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    public Task<uint> CreateAsync(string id, string stdout, string stderr, bool terminal, CancellationToken cancellationToken) =>
        lifecycle.CreateAsync(CriNames.Namespace,
            new ExecutionApi.CreateRequest { ContainerId = id, Stdout = stdout, Stderr = stderr, Terminal = terminal }, cancellationToken);

    /// <summary>The task, refreshed (a dead shim is buried), or null.</summary>
    public async Task<ITask?> FindAsync(string id, CancellationToken cancellationToken) =>
        registry.TryGet(CriNames.Namespace, id, out var task) ? await lifecycle.RefreshAsync(task, cancellationToken).ConfigureAwait(false) : null;

    /// <summary>Whether the container has a task whose shim lives (the exit monitor deletes a task when its init exits).</summary>
    public bool IsRunning(string id) => registry.TryGet(CriNames.Namespace, id, out var task) && task is LiveTask;

    /// <summary>Waits until the task is stopped or gone; false when <paramref name="timeout"/> passed first.</summary>
    public async Task<bool> WaitStoppedAsync(string id, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var task = await DescribeAsync(id, cancellationToken).ConfigureAwait(false);
            if (task is null || task.Status == Types.Status.Stopped)
                return true;
            if (DateTime.UtcNow >= deadline)
                return false;
            await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The task's status; null when there is no task.</summary>
    public async Task<Types.Task?> DescribeAsync(string id, CancellationToken cancellationToken)
    {
        var task = await FindAsync(id, cancellationToken).ConfigureAwait(false);
        return task is null ? null : await task.DescribeForListAsync(null, cancellationToken).ConfigureAwait(false);
    }

    public async Task StartAsync(string id, CancellationToken cancellationToken)
    {
        var task = await FindAsync(id, cancellationToken).ConfigureAwait(false)
            ?? throw new RpcException(new Status(StatusCode.NotFound, $"container \"{id}\" has no task"));
        await task.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Signals the init (or every process with <paramref name="all"/>); a task that is gone or stopped is fine.</summary>
    public async Task KillAsync(string id, uint signal, bool all, CancellationToken cancellationToken)
    {
        var task = await FindAsync(id, cancellationToken).ConfigureAwait(false);
        if (task is null)
            return;
        var request = new ExecutionApi.KillRequest { ContainerId = id, Signal = signal };
        if (all)
            request.All = true;
        try
        {
            await task.KillAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.NotFound or StatusCode.FailedPrecondition)
        {
            // Already stopped: what the caller wanted.
        }
    }

    /// <summary>Deletes the task; null when there was none.</summary>
    public async Task<ExecutionApi.DeleteResponse?> DeleteAsync(string id, CancellationToken cancellationToken)
    {
        try
        {
            return await lifecycle.DeleteAsync(CriNames.Namespace, id, cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
            return null;
        }
    }
}
