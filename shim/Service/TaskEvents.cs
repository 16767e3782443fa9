using Containerd.Shim.Events;
using Containerd.Shim.Process;
using Containerd.Shim.Reaper;
using Microsoft.Extensions.Logging;
using EventType = Containerd.Api.Types.Event.Types.EventType;

namespace Containerd.Shim.Service;

/// <summary>
/// Publishes the task's events. Transitions reach it while the process's lock
/// is held (<see cref="IProcessObserver"/>), which orders a process's EXIT
/// after its START; CREATE and EXEC_ADDED are published before the exit of
/// the new process is watched at all.
/// </summary>
internal sealed class TaskEvents(EventQueue events, ShimOptions options, ILogger<TaskEvents> logger) : IProcessObserver
{
    public void Created(InitProcess init)
    {
        events.Publish(options.Id, EventType.Create, (uint)init.Pid);
        logger.LogInformation("created task with init {InitPid}", init.Pid);
    }

    public void ExecAdded(ExecProcess exec)
    {
        events.Publish(options.Id, EventType.ExecAdded, (uint)exec.Pid);
        logger.LogDebug("exec'd process {ExecPid}", exec.Pid);
    }

    public void Started(InitProcess init)
    {
        events.Publish(options.Id, EventType.Start, (uint)init.Pid);
        logger.LogInformation("started task with init {InitPid}", init.Pid);
    }

    /// <summary>The container's memory cgroup hit its limit; containerd names the container's init as the pid.</summary>
    public void OutOfMemory(int initPid) => events.Publish(options.Id, EventType.Oom, (uint)initPid);

    public void Paused(InitProcess init) => events.Publish(options.Id, EventType.Paused, (uint)init.Pid);

    public void Exited(ShimProcess process, ProcessExit exit)
    {
        events.PublishExit(options.Id, (uint)process.Pid, (uint)exit.Status, exit.ExitedAt);
        if (process.IsInit)
            logger.LogInformation("init {InitPid} exited with status {ExitStatus}", process.Pid, exit.Status);
        else
            logger.LogDebug("process {ExecPid} exited with status {ExitStatus}", process.Pid, exit.Status);
    }
}
