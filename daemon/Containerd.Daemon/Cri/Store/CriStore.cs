using Containerd.Api.CriStore;

namespace Containerd.Daemon.Cri.Store;

/// <summary>The CRI adapter's sandboxes and containers, in the daemon's metadata database.</summary>
public sealed class CriStore(string databasePath)
{
    public CriRecordTable<SandboxRecord> Sandboxes { get; } =
        new(databasePath, "cri_sandboxes", SandboxRecord.Parser, r => r.Id);

    public CriRecordTable<ContainerRecord> Containers { get; } =
        new(databasePath, "cri_containers", ContainerRecord.Parser, r => r.Id);

    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await Sandboxes.InitializeAsync(cancellationToken).ConfigureAwait(false);
        await Containers.InitializeAsync(cancellationToken).ConfigureAwait(false);
    }
}
