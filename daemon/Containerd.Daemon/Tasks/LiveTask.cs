using Containerd.Api.Shim;
using Containerd.Daemon.Containers;
using Containerd.Daemon.Hosting;
using Containerd.Daemon.Shims;
using Containerd.Shared.Tasks;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using ExecutionApi = Containerd.Api.Execution;
using Types = Containerd.Api.Types;

namespace Containerd.Daemon.Tasks;

/// <summary>
/// A task whose shim runs: every call is forwarded to the shim, whose status
/// codes and messages reach the client unchanged. Holds the shim connection,
/// the event pump and the init's stdio (which a restarted daemon learns from
/// the shim). When the shim dies, <see cref="TaskLifecycle"/> replaces it with
/// a <see cref="StoppedTask"/>, whose tombstone the <see cref="Execs"/> feed.
/// </summary>
public sealed class LiveTask(uint initPid, Stdio stdio, ShimConnection shim, EventPump events, KnownExecs? execs = null) : ITask
{
    private static readonly TimeSpan ListStateTimeout = TimeSpan.FromSeconds(5);

    public string Namespace => Shim.Namespace;

    public string Id => Shim.Id;

    /// <summary>The init's pid; a task created from a checkpoint has 0 until Start restored it.</summary>
    public uint InitPid => Events.InitPid is var pid and not 0 ? pid : initPid;

    public Stdio Stdio { get; } = stdio;

    public ShimConnection Shim { get; } = shim;

    public EventPump Events { get; } = events;

    /// <summary>Forwards the shim's log into the daemon's; stopped (after a last read) before the bundle goes.</summary>
    public ShimLogFollower? ShimLog { get; init; }

    /// <summary>The exec'd processes as last heard of, for the tombstone if the shim dies.</summary>
    public KnownExecs Execs { get; } = execs ?? new KnownExecs();

    public async Task<Types.Task> DescribeAsync(Any? spec, CancellationToken cancellationToken)
    {
        var state = await Shim.CallAsync((c, o) => c.StateAsync(new Empty(), o), cancellationToken).ConfigureAwait(false);
        return Describe(state, spec);
    }

    public async Task<Types.Task> DescribeForListAsync(Any? spec, CancellationToken cancellationToken)
    {
        try
        {
            var state = await Shim.CallAsync((c, o) => c.StateAsync(new Empty(), o), cancellationToken, ListStateTimeout)
                .ConfigureAwait(false);
            return Describe(state, spec);
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded)
        {
            // One dead or hung shim must not hide the other tasks; it shows as UNKNOWN.
            return TaskReplies.Task(Id, InitPid, Types.Status.Unknown, stdio: null, spec);
        }
    }

    public async Task<Empty> StartAsync(CancellationToken cancellationToken)
    {
        var started = await Shim.CallAsync((c, o) => c.StartAsync(new Empty(), o), cancellationToken).ConfigureAwait(false);
        Events.InitStarted(started.Pid);
        return new Empty();
    }

    /// <summary>runc checkpoint in the shim; the running/paused precondition is the shim's state machine's.</summary>
    public Task<Empty> CheckpointAsync(ShimCheckpointRequest request, CancellationToken cancellationToken) =>
        Shim.CallAsync((c, o) => c.CheckpointAsync(request, o), cancellationToken);

    public Task<Empty> KillAsync(ExecutionApi.KillRequest request, CancellationToken cancellationToken)
    {
        var kill = new ShimKillRequest { Signal = request.Signal };
        switch (request.PidOrAllCase)
        {
            case ExecutionApi.KillRequest.PidOrAllOneofCase.All:
                kill.All = request.All;
                break;
            case ExecutionApi.KillRequest.PidOrAllOneofCase.Pid:
                kill.Pid = request.Pid;
                break;
        }
        return Shim.CallAsync((c, o) => c.KillAsync(kill, o), cancellationToken);
    }

    public async Task<uint> ExecAsync(ExecutionApi.ExecRequest request, CancellationToken cancellationToken)
    {
        SpecJson.RequireObject(request.Spec, $"exec in task \"{Id}\"");
        if (CriLogTarget.Check(request.Stdin, request.Stdout, request.Stderr) is { } stdioProblem)
            throw RpcErrors.InvalidArgument($"cannot exec in task \"{Id}\": {stdioProblem}");
        var exec = new ShimExecRequest
        {
            Spec = request.Spec.Value,
            Stdio = new Stdio { Stdin = request.Stdin, Stdout = request.Stdout, Stderr = request.Stderr, Terminal = request.Terminal },
        };
        var started = await Shim.CallAsync((c, o) => c.ExecAsync(exec, o), cancellationToken).ConfigureAwait(false);
        // Not only from EXEC_ADDED: the shim may die before the pump relays it.
        Execs.Added(started.Pid);
        return started.Pid;
    }

    public async Task<ExecutionApi.DeleteResponse> DeleteProcessAsync(uint pid, CancellationToken cancellationToken)
    {
        var deleted = await Shim.CallAsync(
            (c, o) => c.DeleteProcessAsync(new ShimPidRequest { Pid = pid }, o), cancellationToken).ConfigureAwait(false);
        Execs.Forget(pid);
        return new ExecutionApi.DeleteResponse { ContainerId = Id, ExitStatus = deleted.ExitStatus, ExitedAt = deleted.ExitedAt };
    }

    public Task<Empty> CloseStdinAsync(uint pid, CancellationToken cancellationToken) =>
        Shim.CallAsync((c, o) => c.CloseStdinAsync(new ShimPidRequest { Pid = pid }, o), cancellationToken);

    public Task<Empty> ResizePtyAsync(uint pid, uint width, uint height, CancellationToken cancellationToken) =>
        Shim.CallAsync(
            (c, o) => c.ResizePtyAsync(new ShimResizePtyRequest { Pid = pid, Width = width, Height = height }, o), cancellationToken);

    public Task<Empty> ReopenLogAsync(uint pid, CancellationToken cancellationToken) =>
        Shim.CallAsync((c, o) => c.ReopenLogAsync(new ShimPidRequest { Pid = pid }, o), cancellationToken);

    public Task<Empty> PauseAsync(CancellationToken cancellationToken) =>
        Shim.CallAsync((c, o) => c.PauseAsync(new Empty(), o), cancellationToken);

    public Task<Empty> ResumeAsync(CancellationToken cancellationToken) =>
        Shim.CallAsync((c, o) => c.ResumeAsync(new Empty(), o), cancellationToken);

    public async Task<IReadOnlyList<Types.Process>> ProcessesAsync(CancellationToken cancellationToken)
    {
        var listed = await Shim.CallAsync((c, o) => c.ProcessesAsync(new Empty(), o), cancellationToken).ConfigureAwait(false);
        return listed.Processes;
    }

    private Types.Task Describe(ShimStateResponse state, Any? spec)
    {
        var init = state.Init;
        return TaskReplies.Task(Id, init?.Pid ?? InitPid, init?.Status ?? Types.Status.Unknown, init?.Stdio, spec);
    }
}
