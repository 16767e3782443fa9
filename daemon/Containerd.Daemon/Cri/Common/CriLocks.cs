using Containerd.Daemon.Containers;

namespace Containerd.Daemon.Cri.Common;

/// <summary>
/// One lock per CRI sandbox and per CRI container, held across a whole CRI
/// call. Separate from the task locks (which the Tasks lifecycle takes inside
/// these calls), so a CRI call can create and delete tasks while it holds its own.
/// </summary>
public sealed class CriLocks
{
    private readonly ContainerLocks _locks = new();

    public Task<IDisposable> SandboxAsync(string id, CancellationToken cancellationToken) =>
        _locks.AcquireAsync(CriNames.KindSandbox, id, cancellationToken);

    public Task<IDisposable> ContainerAsync(string id, CancellationToken cancellationToken) =>
        _locks.AcquireAsync(CriNames.KindContainer, id, cancellationToken);
}
