namespace Containerd.Daemon.Cri.Sandboxes;

/// <summary>What a sandbox needs of its containers when it stops or goes.</summary>
public interface ISandboxContainers
{
    /// <summary>Kills every running container of the sandbox and waits for their exits.</summary>
    Task StopAllInSandboxAsync(string sandboxId, CancellationToken cancellationToken);

    /// <summary>Removes every container of the sandbox (tasks, records, snapshots).</summary>
    Task RemoveAllInSandboxAsync(string sandboxId, CancellationToken cancellationToken);
}
