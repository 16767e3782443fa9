using Containerd.Api.Execution;
using Containerd.Ctr.Client;
using Containerd.Ctr.Io;
using Grpc.Core;

namespace Containerd.Ctr.Commands;

/// <summary>
/// Deletes a task and, with it, the FIFO directory ctr made for its stdio if
/// it outlived the ctr that made it (<c>run -d -t</c>). The task's stdio paths
/// are read before the delete, since a deleted task can no longer be asked.
/// </summary>
internal static class TaskDeletion
{
    public static async Task<DeleteResponse> DeleteAsync(DaemonClient client, string id, CancellationToken cancellationToken)
    {
        string[] stdio = [];
        try
        {
            var task = (await client.Tasks.InfoAsync(new InfoRequest { ContainerId = id }, cancellationToken: cancellationToken)).Task;
            stdio = [task.Stdin, task.Stdout, task.Stderr];
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.NotFound or StatusCode.Unimplemented)
        {
            // Delete itself reports the missing task.
        }
        var response = await client.Tasks.DeleteAsync(new DeleteRequest { ContainerId = id }, cancellationToken: cancellationToken);
        FifoDirectory.RemoveFor(stdio);
        return response;
    }
}
