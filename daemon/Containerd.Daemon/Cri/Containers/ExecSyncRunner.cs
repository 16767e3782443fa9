using System.Text.Json.Nodes;
using Containerd.Daemon.Cri.Common;
using Containerd.Daemon.Events;
using Containerd.Daemon.Hosting;
using Containerd.Daemon.Metadata;
using Containerd.Shared.Oci;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Runtime.V1;
using ExecutionApi = Containerd.Api.Execution;
using Types = Containerd.Api.Types;

namespace Containerd.Daemon.Cri.Containers;

/// <summary>
/// ExecSync: runs a command in a running container as its init runs (user, env,
/// cwd), its stdout and stderr going to files the shim writes, and answers with
/// both and the exit code. With a timeout, a command still running then is
/// killed and the call answers DeadlineExceeded (the kubelet's probes rely on it).
/// </summary>
public sealed class ExecSyncRunner(
    ContainerManager containers,
    CriTasks tasks,
    ContainerStore records,
    EventExchange events,
    DaemonOptions options,
    ILogger<ExecSyncRunner> logger)
{
    /// <summary>What ExecSync keeps of each stream; the rest is dropped (containerd caps it too).</summary>
    public const int MaxOutputBytes = 16 * 1024 * 1024;

    public async Task<ExecSyncResponse> RunAsync(ExecSyncRequest request, CancellationToken cancellationToken)
    {
        var id = containers.Resolve(request.ContainerId) ?? throw RpcErrors.NotFound($"container \"{request.ContainerId}\" not found");
        if (request.Cmd.Count == 0)
            throw RpcErrors.InvalidArgument($"ExecSync in container {id}: cmd is required");
        var record = containers.Get(id) ?? throw RpcErrors.NotFound($"container \"{request.ContainerId}\" not found");
        if (ContainerManager.StateOf(record) != ContainerState.ContainerRunning
            || await tasks.FindAsync(id, cancellationToken).ConfigureAwait(false) is not { } task)
            throw RpcErrors.FailedPrecondition($"ExecSync: container {id} is not running");

        var container = await records.GetAsync(CriNames.Namespace, id, cancellationToken).ConfigureAwait(false)
            ?? throw RpcErrors.NotFound($"container \"{id}\" not found");
        var process = (SpecAny.Unpack(container.Spec) as JsonObject)?["process"]?.DeepClone() as JsonObject
            ?? throw RpcErrors.FailedPrecondition($"ExecSync: container {id} has no process in its spec");
        process["args"] = new JsonArray([.. request.Cmd.Select(a => (JsonNode?)JsonValue.Create(a))]);
        process["terminal"] = false;

        var directory = Path.Combine(options.CriState, "exec", CriNames.NewId()[..16]);
        Directory.CreateDirectory(directory);
        var stdout = Path.Combine(directory, "stdout");
        var stderr = Path.Combine(directory, "stderr");
        uint pid = 0;
        try
        {
            // Subscribed before the exec: its EXIT cannot slip past.
            using var subscription = events.Subscribe(CriNames.Namespace);
            pid = await task.ExecAsync(new ExecutionApi.ExecRequest
            {
                ContainerId = id, Stdout = stdout, Stderr = stderr,
                Spec = SpecAny.Pack(SpecAny.ProcessSpecType, process),
            }, cancellationToken).ConfigureAwait(false);

            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            if (request.Timeout > 0)
                deadline.CancelAfter(TimeSpan.FromSeconds(request.Timeout));
            uint exitStatus;
            try
            {
                exitStatus = await WaitForExitAsync(subscription, id, pid, deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                await task.KillAsync(new ExecutionApi.KillRequest { ContainerId = id, Signal = CriTasks.SigKill, Pid = pid }, CancellationToken.None)
                    .ConfigureAwait(false);
                // Reaped before DeleteProcess, so the shim keeps no exit of it.
                using (var reaped = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
                {
                    try
                    {
                        await WaitForExitAsync(subscription, id, pid, reaped.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                    }
                }
                throw new RpcException(new Status(StatusCode.DeadlineExceeded,
                    $"ExecSync in container {id}: command {request.Cmd[0]} timed out after {request.Timeout} s and was killed"));
            }
            return new ExecSyncResponse
            {
                ExitCode = (int)exitStatus,
                Stdout = Google.Protobuf.ByteString.CopyFrom(ReadCapped(stdout)),
                Stderr = Google.Protobuf.ByteString.CopyFrom(ReadCapped(stderr)),
            };
        }
        finally
        {
            if (pid != 0)
            {
                try
                {
                    await task.DeleteProcessAsync(pid, CancellationToken.None).ConfigureAwait(false);
                }
                catch (RpcException e)
                {
                    // A killed exec may not be reaped yet; the shim forgets it with the task.
                    logger.LogDebug("ExecSync {ContainerId}: process {Pid} not deleted: {Error}", id, pid, e.Status.Detail);
                }
            }
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task<uint> WaitForExitAsync(EventSubscription subscription, string id, uint pid, CancellationToken cancellationToken)
    {
        await foreach (var evt in subscription.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            if (evt.Type == Types.Event.Types.EventType.Exit && evt.Id == id && evt.Pid == pid)
                return evt.ExitStatus;
        }
        throw RpcErrors.Unavailable($"ExecSync in container {id}: the event stream ended before process {pid} exited");
    }

    private static byte[] ReadCapped(string path)
    {
        using var file = File.OpenRead(path);
        var length = (int)Math.Min(file.Length, MaxOutputBytes);
        var buffer = new byte[length];
        file.ReadExactly(buffer);
        return buffer;
    }
}
