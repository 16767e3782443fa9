using System.Runtime.InteropServices;

namespace Containerd.Ctr.Cli;

/// <summary>
/// While alive, SIGINT/SIGTERM/SIGHUP/SIGQUIT do not terminate ctr. Before a
/// target is set they abort the command (<see cref="Aborted"/>), so it can
/// clean up; afterwards they are handed to the target as Linux signal numbers,
/// so Ctrl-C reaches the container process and ctr still reports how it ended.
/// </summary>
public sealed class SignalForwarder : IDisposable
{
    private readonly List<PosixSignalRegistration> _registrations;
    private readonly CancellationTokenSource _abort;
    private Func<uint, Task>? _target;

    public SignalForwarder(CancellationToken cancellationToken)
    {
        _abort = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _registrations =
        [
            Register(PosixSignal.SIGINT, 2),
            Register(PosixSignal.SIGTERM, 15),
            Register(PosixSignal.SIGHUP, 1),
            Register(PosixSignal.SIGQUIT, 3),
        ];
    }

    /// <summary>Cancelled by a signal that arrived before <see cref="ForwardTo"/>.</summary>
    public CancellationToken Aborted => _abort.Token;

    public void ForwardTo(Func<uint, Task> target) => Volatile.Write(ref _target, target);

    public void Dispose()
    {
        foreach (var registration in _registrations)
            registration.Dispose();
        _abort.Dispose();
    }

    private PosixSignalRegistration Register(PosixSignal signal, uint number) =>
        PosixSignalRegistration.Create(signal, context =>
        {
            context.Cancel = true;
            var target = Volatile.Read(ref _target);
            if (target is null)
                _abort.Cancel();
            else
                _ = ForwardAsync(target, number);
        });

    private static async Task ForwardAsync(Func<uint, Task> target, uint signal)
    {
        try
        {
            await target(signal);
        }
        catch (Exception e)
        {
            // The process may have exited meanwhile; ctr keeps waiting for its exit either way.
            await Console.Error.WriteLineAsync($"ctr: forwarding signal {signal}: {e.Message}");
        }
    }
}
