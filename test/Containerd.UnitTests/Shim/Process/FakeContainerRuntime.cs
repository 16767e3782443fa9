using Containerd.Shim.Process;
using Containerd.Shim.Runc;

namespace Containerd.UnitTests.Shim.Process;

/// <summary>A container runtime that records what processes ask of it and fails on demand (no runc).</summary>
internal sealed class FakeContainerRuntime : IContainerRuntime
{
    public string ContainerId => "c1";

    public List<string> Calls { get; } = [];

    /// <summary>When set, the next runtime call throws it (runc's own words).</summary>
    public RuncException? FailNext { get; set; }

    /// <summary>Calls that always fail, by name ("delete --force", "state", ...).</summary>
    public Dictionary<string, RuncException> Failures { get; } = [];

    /// <summary>What kill(2) of an exec reports (0 or an errno).</summary>
    public int SignalErrno { get; set; }

    /// <summary>Runs when runc kill or delete --force is asked (e.g. the process dies).</summary>
    public Action? OnKill { get; set; }

    public Task CreateAsync(string bundle, string pidFile, IRuncStdio stdio) => Record("create");

    /// <summary>runc start does not return before this completes (to race other operations against it).</summary>
    public Task StartGate { get; set; } = Task.CompletedTask;

    public async Task StartAsync()
    {
        await StartGate;
        await Record("start");
    }

    public Task ExecAsync(string specFile, string pidFile, IRuncStdio stdio) => Record("exec");

    /// <summary>runc kill does not return before this completes (a hung runc).</summary>
    public Task KillGate { get; set; } = Task.CompletedTask;

    public async Task KillAsync(int signal, bool all)
    {
        await KillGate;
        var recorded = Record(all ? $"kill {signal} all" : $"kill {signal}");
        OnKill?.Invoke();
        await recorded;
    }

    public Task PauseAsync() => Record("pause");

    public Task UpdateAsync(byte[] resourcesJson) => Record("update " + System.Text.Encoding.UTF8.GetString(resourcesJson));

    public Task ResumeAsync() => Record("resume");

    public Task CheckpointAsync(CheckpointOptions options) => Record(options.Exit ? "checkpoint exit" : "checkpoint");

    /// <summary>The pid runc restore "wrote".</summary>
    public int RestoredPid { get; set; } = 77;

    public async Task<int> RestoreAsync(RestoreOptions options, IRuncStdio? stdio)
    {
        await Record("restore");
        return RestoredPid;
    }

    public Task<List<int>> ProcessIdsAsync() => Task.FromResult(new List<int>());

    public Task ForceDeleteAsync() => Record("delete --force");

    /// <summary>What runc state reports.</summary>
    public string? Status { get; set; }

    public async Task<string?> StatusAsync()
    {
        await Record("state");
        return Status;
    }

    /// <summary>Runs after kill(2) of a pid is recorded (e.g. the process dies).</summary>
    public Action<int, int>? OnSignal { get; set; }

    public int Signal(int pid, int signal)
    {
        Calls.Add($"signal {pid} {signal}");
        OnSignal?.Invoke(pid, signal);
        return SignalErrno;
    }

    private Task Record(string call)
    {
        Calls.Add(call);
        if (Failures.TryGetValue(call, out var always))
            return Task.FromException(always);
        if (FailNext is { } failure)
        {
            FailNext = null;
            return Task.FromException(failure);
        }
        return Task.CompletedTask;
    }
}
