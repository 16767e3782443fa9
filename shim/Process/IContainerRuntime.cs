using Containerd.Shim.Runc;

namespace Containerd.Shim.Process;

/// <summary>
/// The runtime operations on one container that its processes need, bound to
/// the container's id. Processes see only this, so their state machines can
/// be driven without runc; the real one is <see cref="RuncContainer"/>.
/// Failures are <see cref="RuncException"/>s carrying runc's own words.
/// </summary>
internal interface IContainerRuntime
{
    string ContainerId { get; }

    /// <summary><c>runc create</c>: the init exists (its pid in <paramref name="pidFile"/>) and waits for start.</summary>
    Task CreateAsync(string bundle, string pidFile, IRuncStdio stdio);

    Task StartAsync();

    /// <summary><c>runc exec --detach</c>: returns once the process runs (its pid in <paramref name="pidFile"/>).</summary>
    Task ExecAsync(string specFile, string pidFile, IRuncStdio stdio);

    /// <summary>Signals the init (or, with <paramref name="all"/>, every process of the container) through runc.</summary>
    Task KillAsync(int signal, bool all);

    Task PauseAsync();

    /// <summary><c>runc update --resources -</c> with an OCI LinuxResources object (JSON) on its stdin.</summary>
    Task UpdateAsync(byte[] resourcesJson);

    Task ResumeAsync();

    /// <summary><c>runc checkpoint</c> into the options' image directory.</summary>
    Task CheckpointAsync(CheckpointOptions options);

    /// <summary><c>runc restore --detach</c>: returns the restored init's pid once it runs.</summary>
    Task<int> RestoreAsync(RestoreOptions options, IRuncStdio? stdio);

    /// <summary>The pids of the container's processes (<c>runc ps</c>).</summary>
    Task<List<int>> ProcessIdsAsync();

    /// <summary><c>runc delete --force</c>: kills what is left and removes runc's record.</summary>
    Task ForceDeleteAsync();

    /// <summary>
    /// The container's status word (<c>runc state</c>); null when runc printed
    /// none. Only the delete sub-command asks: a live shim knows its
    /// container's state from its own bookkeeping.
    /// </summary>
    Task<string?> StatusAsync();

    /// <summary>
    /// Sends a signal to one process by pid (exec'd processes: runc kill only
    /// reaches the init). Returns 0, or the errno of kill(2).
    /// </summary>
    int Signal(int pid, int signal);
}
