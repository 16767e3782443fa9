using Containerd.Shim.Process;

namespace Containerd.UnitTests.Shim.Process;

/// <summary>Records each teardown the init asks for; may run a hook (the container's processes die) or fail.</summary>
internal sealed class FakeTeardown : IContainerTeardown
{
    public List<bool> Calls { get; } = [];

    public Action? OnRemove { get; set; }

    public Exception? Failure { get; set; }

    public Task RemoveContainerAsync(bool strict)
    {
        Calls.Add(strict);
        OnRemove?.Invoke();
        return Failure is { } failure ? Task.FromException(failure) : Task.CompletedTask;
    }
}
