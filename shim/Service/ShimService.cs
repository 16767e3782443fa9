using Containerd.Api.Shim;
using Containerd.Shim.Events;
using Containerd.Shim.Runc;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Containerd.Shim.Service;

/// <summary>
/// The gRPC face of <see cref="ShimTask"/>: translates messages and makes
/// sure every failure leaves as a status whose message names the task.
/// </summary>
internal sealed class ShimService(ShimTask task, EventQueue events, ShimLifetime lifetime, ShimOptions options, ILogger<ShimService> logger)
    : Api.Shim.Shim.ShimBase
{
    private static readonly Empty EmptyReply = new();

    public override Task<ShimCreateResponse> Create(ShimCreateRequest request, ServerCallContext context) =>
        Guard("create", async () => new ShimCreateResponse { Pid = (uint)await task.CreateAsync(request, context.CancellationToken).ConfigureAwait(false) });

    public override Task<ShimStartResponse> Start(Empty request, ServerCallContext context) =>
        Guard("start", async () => new ShimStartResponse { Pid = (uint)await task.StartAsync(context.CancellationToken).ConfigureAwait(false) });

    public override Task<Empty> Checkpoint(ShimCheckpointRequest request, ServerCallContext context) =>
        Guard("checkpoint", async () =>
        {
            if (request.ImagePath.Length == 0 || request.WorkPath.Length == 0)
                throw ShimErrors.InvalidArgument($"cannot checkpoint task \"{options.Id}\": image_path and work_path are required");
            var checkpoint = new CheckpointOptions(
                request.ImagePath, request.WorkPath, request.Exit, request.AllowTcp, request.AllowUnixSockets, request.AllowTerminal,
                request.FileLocks, [.. request.EmptyNamespaces], request.ParentPath.Length == 0 ? null : request.ParentPath);
            await task.CheckpointAsync(checkpoint, context.CancellationToken).ConfigureAwait(false);
            return EmptyReply;
        });

    public override Task<ShimStateResponse> State(Empty request, ServerCallContext context) =>
        Guard("state", () => Task.FromResult(task.State()));

    public override Task<ShimExecResponse> Exec(ShimExecRequest request, ServerCallContext context) =>
        Guard("exec in", async () => new ShimExecResponse
        {
            Pid = (uint)await task.ExecAsync(request.Spec, request.Stdio, context.CancellationToken).ConfigureAwait(false),
        });

    public override Task<Empty> Kill(ShimKillRequest request, ServerCallContext context) =>
        Guard("kill", async () =>
        {
            await task.KillAsync(request.Signal, request.Pid, request.All, context.CancellationToken).ConfigureAwait(false);
            return EmptyReply;
        });

    public override Task<Empty> Pause(Empty request, ServerCallContext context) =>
        Guard("pause", async () =>
        {
            await task.PauseAsync(context.CancellationToken).ConfigureAwait(false);
            return EmptyReply;
        });

    public override Task<Empty> Resume(Empty request, ServerCallContext context) =>
        Guard("resume", async () =>
        {
            await task.ResumeAsync(context.CancellationToken).ConfigureAwait(false);
            return EmptyReply;
        });

    public override Task<ShimProcessesResponse> Processes(Empty request, ServerCallContext context) =>
        Guard("list processes of", async () =>
        {
            var response = new ShimProcessesResponse();
            response.Processes.AddRange(await task.ProcessesAsync().ConfigureAwait(false));
            return response;
        });

    public override Task<Empty> CloseStdin(ShimPidRequest request, ServerCallContext context) =>
        Guard("close stdin of", () =>
        {
            task.CloseStdin(request.Pid);
            return Task.FromResult(EmptyReply);
        });

    public override Task<Empty> ResizePty(ShimResizePtyRequest request, ServerCallContext context) =>
        Guard("resize the terminal of", () =>
        {
            task.ResizePty(request.Pid, request.Width, request.Height);
            return Task.FromResult(EmptyReply);
        });

    public override Task<Empty> ReopenLog(ShimPidRequest request, ServerCallContext context) =>
        Guard("reopen the log of", () =>
        {
            task.ReopenLog(request.Pid);
            return Task.FromResult(EmptyReply);
        });

    public override Task<ShimDeleteResponse> Delete(Empty request, ServerCallContext context) =>
        Guard("delete", () => task.DeleteAsync(context.CancellationToken));

    public override Task<ShimDeleteResponse> DeleteProcess(ShimPidRequest request, ServerCallContext context) =>
        Guard("delete a process of", () => task.DeleteProcessAsync(request.Pid, context.CancellationToken));

    public override async Task Events(ShimEventsRequest request, IServerStreamWriter<ShimEvent> responseStream, ServerCallContext context)
    {
        // The stream ends when the client goes away or the shim stops; queued
        // events stay for the next subscriber until acknowledged.
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.Stopping);
        try
        {
            await events.StreamAsync(request.AfterSequence, item => responseStream.WriteAsync(item, linked.Token), linked.Token)
                .ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        catch (InvalidOperationException) when (linked.IsCancellationRequested)
        {
            // Writing after the call completed.
        }
    }

    public override Task<Empty> AckEvents(ShimAckRequest request, ServerCallContext context)
    {
        events.Acknowledge(request.Sequence);
        return Task.FromResult(EmptyReply);
    }

    public override Task<Empty> Shutdown(ShimShutdownRequest request, ServerCallContext context) =>
        Guard("shut down the shim of", async () =>
        {
            await task.ShutdownAsync(request.Force, context.CancellationToken).ConfigureAwait(false);
            logger.LogInformation("shutting down");
            lifetime.StopSoon();
            return EmptyReply;
        });

    private async Task<T> Guard<T>(string verb, Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (RpcException e)
        {
            logger.LogDebug("{Verb} failed: {Code} {Error}", verb, e.StatusCode, e.Status.Detail);
            throw;
        }
        catch (OperationCanceledException)
        {
            throw new RpcException(new Status(StatusCode.Cancelled, $"{verb} task \"{options.Id}\": cancelled"));
        }
        catch (Exception e)
        {
            logger.LogError("{Verb} failed: {Error}", verb, e.Message);
            throw ShimErrors.Internal($"cannot {verb} task \"{options.Id}\": {e.Message}");
        }
    }
}
