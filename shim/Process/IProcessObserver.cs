namespace Containerd.Shim.Process;

/// <summary>
/// Told of a process's transitions while the process's state gate is held,
/// so whatever it publishes is ordered with the process's other transitions
/// (an EXIT can never overtake the START of the same process).
/// </summary>
internal interface IProcessObserver
{
    void Started(InitProcess init);

    void Paused(InitProcess init);

    /// <summary>Called exactly once per process, when its exit is recorded.</summary>
    void Exited(ShimProcess process, Reaper.ProcessExit exit);
}
