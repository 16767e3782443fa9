using Containerd.Api.Execution;
using Status = Containerd.Api.Types.Status;
using Grpc.Core;
using Task = System.Threading.Tasks.Task;

namespace Containerd.Ctr.Client;

/// <summary>Asks the daemon about a process directly, for when its EXIT event did not arrive.</summary>
public static class ExitProbes
{
    /// <summary>Probes after which a process the daemon no longer lists counts as gone.</summary>
    private const int MissingLimit = 3;

    public static EventSubscription.ExitProbe ForProcess(DaemonClient client, string id, uint pid)
    {
        var missing = 0;
        return async cancellationToken =>
        {
            try
            {
                var response = await client.Tasks.ProcessesAsync(new ProcessesRequest { ContainerId = id }, cancellationToken: cancellationToken)
                    ;
                var process = response.Processes.FirstOrDefault(p => p.Pid == pid);
                if (process is not null)
                {
                    missing = 0;
                    return process.Status == Status.Stopped ? new ProcessExit(process.ExitStatus, null) : null;
                }
            }
            catch (RpcException e) when (e.StatusCode is not StatusCode.Unavailable and not StatusCode.Cancelled)
            {
            }
            return ++missing >= MissingLimit ? ProcessExit.Unknown : null;
        };
    }
}
