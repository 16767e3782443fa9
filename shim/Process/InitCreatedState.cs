using Status = Containerd.Api.Types.Status;

namespace Containerd.Shim.Process;

/// <summary>runc create ran: the init process exists and waits for runc start.</summary>
internal sealed class InitCreatedState : InitState
{
    public static readonly InitCreatedState Instance = new();

    private InitCreatedState()
    {
    }

    public override Status Status => Status.Created;

    public override string Name => "created";

    public override Task StartAsync(InitProcess init) => init.RunStartLockedAsync();

    public override void CheckExec(InitProcess init)
    {
    }

    /// <summary>Allowed: a never-started init is killed (and its exit awaited) before the container goes.</summary>
    public override async Task DeleteAsync(InitProcess init, IContainerTeardown teardown)
    {
        await init.KillCreatedLockedAsync().ConfigureAwait(false);
        await init.RemoveLockedAsync(teardown, strict: true).ConfigureAwait(false);
    }

    public override Task UpdateAsync(InitProcess init, byte[] resourcesJson) => init.RunUpdateAsync(resourcesJson);
}
