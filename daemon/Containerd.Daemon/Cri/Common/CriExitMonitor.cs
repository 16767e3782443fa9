using Containerd.Daemon.Cri.Containers;
using Containerd.Daemon.Cri.Store;
using Containerd.Daemon.Events;
using Containerd.Daemon.Tasks;
using Microsoft.Extensions.Logging;
using Types = Containerd.Api.Types;

namespace Containerd.Daemon.Cri.Common;

/// <summary>
/// Watches the namespace k8s.io's task events: a CRI container's init EXIT
/// records its exit and deletes its task; an OOM marks it OOMKilled; a sandbox
/// whose pause process died loses its task (the sandbox is then NOTREADY). At
/// start-up it first settles what happened while the daemon was down: EXITs the
/// shims queued come as the subscription's backlog, and a container whose task
/// is gone or stopped is settled from what the task registry knows.
/// </summary>
public sealed class CriExitMonitor(
    EventExchange events,
    CriStore store,
    ContainerManager containers,
    CriTasks tasks,
    TaskRegistry registry,
    ILogger<CriExitMonitor> logger)
{
    private Task _loop = Task.CompletedTask;

    /// <summary>Subscribes (before the daemon serves, so the backlog is this monitor's) and settles the records.</summary>
    public async Task StartAsync(CancellationToken stopping)
    {
        var subscription = events.Subscribe(CriNames.Namespace);
        _loop = Task.Run(() => RunAsync(subscription, stopping), CancellationToken.None);
        foreach (var record in store.Containers.List())
        {
            if (ContainerManager.StateOf(record) == Runtime.V1.ContainerState.ContainerRunning
                && (!registry.TryGet(CriNames.Namespace, record.Id, out var task) || task is StoppedTask))
                await SettleAsync(() => containers.FinishAsync(record.Id, record.Pid, stopping), record.Id).ConfigureAwait(false);
        }
        foreach (var sandbox in store.Sandboxes.List())
        {
            if (registry.TryGet(CriNames.Namespace, sandbox.Id, out var task) && task is StoppedTask)
                await SettleAsync(() => tasks.DeleteAsync(sandbox.Id, stopping), sandbox.Id).ConfigureAwait(false);
        }
    }

    public Task Completion => _loop;

    private async Task RunAsync(EventSubscription subscription, CancellationToken stopping)
    {
        using (subscription)
        {
            try
            {
                await foreach (var evt in subscription.ReadAllAsync(stopping).ConfigureAwait(false))
                    Handle(evt, stopping);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
            }
            catch (Exception e)
            {
                logger.LogError("CRI exit monitor stopped: {Error}", e.Message);
            }
        }
    }

    private void Handle(Types.Event evt, CancellationToken stopping)
    {
        switch (evt.Type)
        {
            case Types.Event.Types.EventType.Exit when containers.Knows(evt.Id):
                // Not awaited: the stream must keep flowing while the task is deleted.
                _ = SettleAsync(() => containers.FinishAsync(evt.Id, evt.Pid, stopping), evt.Id);
                break;
            case Types.Event.Types.EventType.Exit when store.Sandboxes.Get(evt.Id) is { } sandbox && sandbox.Pid == evt.Pid:
                _ = SettleAsync(() => tasks.DeleteAsync(evt.Id, stopping), evt.Id);
                break;
            case Types.Event.Types.EventType.Oom when containers.Knows(evt.Id):
                _ = SettleAsync(() => containers.MarkOomAsync(evt.Id, stopping), evt.Id);
                break;
        }
    }

    private async Task SettleAsync(Func<Task> action, string id)
    {
        try
        {
            await action().ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e)
        {
            logger.LogWarning("CRI: settling the exit of {ContainerId} failed: {Error}", id, e.Message);
        }
    }
}
