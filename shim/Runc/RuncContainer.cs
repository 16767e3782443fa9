using Containerd.Shared.Bundles;
using Containerd.Shared.Native;
using Containerd.Shim.Process;

namespace Containerd.Shim.Runc;

/// <summary>The runtime operations of one container: runc calls bound to its id.</summary>
internal sealed class RuncContainer(RuncClient runc, string containerId) : IContainerRuntime
{
    public string ContainerId { get; } = containerId;

    public Task CreateAsync(string bundle, string pidFile, IRuncStdio stdio) => runc.CreateAsync(ContainerId, bundle, pidFile, stdio);

    public Task StartAsync() => runc.StartAsync(ContainerId);

    public Task ExecAsync(string specFile, string pidFile, IRuncStdio stdio) => runc.ExecAsync(ContainerId, specFile, pidFile, stdio);

    public Task KillAsync(int signal, bool all) => runc.KillAsync(ContainerId, signal, all);

    public Task PauseAsync() => runc.PauseAsync(ContainerId);

    public Task UpdateAsync(byte[] resourcesJson) => runc.UpdateAsync(ContainerId, resourcesJson);

    public Task ResumeAsync() => runc.ResumeAsync(ContainerId);

    public Task CheckpointAsync(CheckpointOptions options) => runc.CheckpointAsync(ContainerId, options);

    public async Task<int> RestoreAsync(RestoreOptions options, IRuncStdio? stdio)
    {
        await runc.RestoreAsync(ContainerId, options, stdio).ConfigureAwait(false);
        return PidFile.Read(options.PidFile);
    }

    public Task<List<int>> ProcessIdsAsync() => runc.PsAsync(ContainerId);

    public Task ForceDeleteAsync() => runc.DeleteAsync(ContainerId, force: true);

    public int Signal(int pid, int signal) => Libc.Kill(pid, signal) == 0 ? 0 : Libc.LastError;

    public Task<string?> StatusAsync() => runc.StateAsync(ContainerId);
}
