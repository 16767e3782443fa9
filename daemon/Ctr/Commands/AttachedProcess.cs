using Containerd.Api.Execution;
using Containerd.Ctr.Client;
using Containerd.Ctr.Io;
using Grpc.Core;

namespace Containerd.Ctr.Commands;

/// <summary>The part of <c>run</c> and <c>tasks exec</c> after the process started: stdin EOF, exit, trailing output.</summary>
internal static class AttachedProcess
{
    /// <summary>Output may trail the exit a little; a background child holding the FIFO open must not keep ctr waiting.</summary>
    private static readonly TimeSpan OutputGrace = TimeSpan.FromSeconds(2);

    /// <param name="stdinPid">Pid CloseStdin names: 0 for a task's init process.</param>
    public static async Task<ProcessExit> WaitAsync(
        DaemonClient client, string id, uint pid, uint stdinPid, StdioSession stdio, EventSubscription events, CancellationToken cancellationToken)
    {
        _ = CloseStdinWhenDrainedAsync(client, id, stdinPid, stdio, cancellationToken);
        var exit = await events.WaitForExitAsync(id, pid, ExitProbes.ForProcess(client, id, pid), cancellationToken);
        await Task.WhenAny(stdio.OutputClosed, Task.Delay(OutputGrace, cancellationToken));
        return exit;
    }

    /// <summary>Once ctr's stdin is exhausted, the process must see EOF: close ctr's end, then have the shim close its end.</summary>
    private static async Task CloseStdinWhenDrainedAsync(DaemonClient client, string id, uint pid, StdioSession stdio, CancellationToken cancellationToken)
    {
        try
        {
            await stdio.InputEnded.WaitAsync(cancellationToken);
            stdio.CloseInput();
            await client.Tasks.CloseStdinAsync(new CloseStdinRequest { ContainerId = id, Pid = pid }, cancellationToken: cancellationToken)
                ;
        }
        catch (OperationCanceledException)
        {
        }
        catch (RpcException)
        {
            // The process exited before its input ran out; nothing is waiting for EOF.
        }
    }
}
