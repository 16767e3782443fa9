using Containerd.Daemon.Config;
using Containerd.Daemon.Events;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Event = Containerd.Api.Types.Event;
using ShimApi = Containerd.Api.Shim;

namespace Containerd.Daemon.Shims;

/// <summary>
/// Moves one shim's events into the exchange. The shim keeps every event until
/// it is acknowledged, so the pump asks for everything after the last sequence
/// it saw, reconnects with backoff while the shim lives, and acknowledges in
/// coalesced batches. The sequence of each published event is written to
/// BUNDLE/events.seq right after it is published (before any ack), so a
/// restarted daemon resumes after it: nothing acknowledged is lost, and at most
/// the one event being published when the daemon was killed is published again
/// (at-least-once: a repeated event is harmless, a lost exit is not).
/// <para>
/// When the stream ends because the shim died (not because the task was
/// deleted or the daemon is stopping), the pump reports it once through
/// <c>shimLost</c>, so the task can be cleaned up and its exit published.
/// </para>
/// </summary>
public sealed class EventPump : IAsyncDisposable
{
    // Short, because a broken stream is also how a dead shim is noticed: the
    // next attempt checks whether the shim still exists.
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(1);

    private readonly ShimConnection _shim;
    private readonly EventExchange _exchange;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _persistGate = new();
    // Changes once when a task created from a checkpoint is restored (its START names the new pid).
    private volatile uint _initPid;
    private readonly Func<Task>? _shimLost;
    private readonly TimeSpan _ackInterval;
    private readonly Action<Event>? _observed;
    private readonly TaskCompletionSource _disposed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _initExitSeen = new(TaskCreationOptions.RunContinuationsAsynchronously);
    // Released once per published event that is not acknowledged yet; the ack loop sleeps on it.
    private readonly SemaphoreSlim _unacked = new(0);
    private ulong _lastSeen;
    private ulong _lastPersisted;
    private ulong _lastAcked;
    private volatile bool _shimEnding;
    private Event? _initExit;
    private Task _pumpTask = Task.CompletedTask;
    private Task _ackTask = Task.CompletedTask;
    private int _disposing;

    /// <param name="observed">Sees each event once published (the task keeps track of its execs with it).</param>
    public EventPump(
        ShimConnection shim, uint initPid, EventExchange exchange, ILogger logger, Func<Task>? shimLost = null,
        TimeSpan? ackInterval = null, Action<Event>? observed = null)
    {
        _ackInterval = ackInterval ?? DaemonTimeouts.Default.EventAckInterval;
        _observed = observed;
        _shim = shim;
        _initPid = initPid;
        _exchange = exchange;
        _logger = logger;
        _shimLost = shimLost;
        _lastSeen = _lastPersisted = _lastAcked = shim.Bundle.ReadEventSequence();
    }

    /// <summary>The init's pid: 0 for a task created from a checkpoint until its restore (Start) gave it a process.</summary>
    public uint InitPid => _initPid;

    /// <summary>Start answered the init's pid (new after a restore) before its START may have arrived.</summary>
    public void InitStarted(uint pid)
    {
        if (pid != 0)
            _initPid = pid;
    }

    public void Start()
    {
        _pumpTask = Task.Run(() => PumpAsync(_stop.Token));
        _ackTask = Task.Run(() => AckLoopAsync(_stop.Token));
    }

    /// <summary>
    /// Called before the shim is told to shut down: the pump then reads its
    /// stream to the end instead of reconnecting, so events still in flight are
    /// published. Returns once the stream ended or <paramref name="timeout"/> passed.
    /// </summary>
    public async Task DrainAsync(TimeSpan timeout)
    {
        _shimEnding = true;
        await Task.WhenAny(_pumpTask, Task.Delay(timeout)).ConfigureAwait(false);
    }

    /// <summary>
    /// Returns once the init's EXIT has been published (the shim sends the EXITs
    /// of its exec'd processes before it, so those are out too), the stream has
    /// ended, or <paramref name="timeout"/> passed. Delete answers after this,
    /// so a client never sees a task deleted before its exit.
    /// </summary>
    public async Task WaitForInitExitAsync(TimeSpan timeout)
    {
        if (InitExit is not null || _pumpTask.IsCompleted)
            return;
        try
        {
            await Task.WhenAny(_initExitSeen.Task, _pumpTask).WaitAsync(timeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
    }

    /// <summary>Marks the end of the shim's stream as expected (it is about to shut down).</summary>
    public void ExpectEnd() => _shimEnding = true;

    /// <summary>The EXIT event of the init process, once the pump has published it.</summary>
    public Event? InitExit => Volatile.Read(ref _initExit);

    private async Task PumpAsync(CancellationToken cancellationToken)
    {
        var backoff = TimeSpan.FromMilliseconds(50);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                using var call = _shim.Client.Events(
                    new ShimApi.ShimEventsRequest { AfterSequence = Volatile.Read(ref _lastSeen) },
                    cancellationToken: cancellationToken);
                await foreach (var item in call.ResponseStream.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                {
                    backoff = TimeSpan.FromMilliseconds(50);
                    // A replay after a reconnect may repeat what was already published.
                    if (item.Sequence <= Volatile.Read(ref _lastSeen))
                        continue;
                    if (item.Event is { } evt)
                    {
                        if (evt.Type == Event.Types.EventType.Start && evt.Pid != 0)
                            _initPid = evt.Pid;
                        _exchange.Publish(_shim.Namespace, evt);
                        _observed?.Invoke(evt);
                        if (evt.Type == Event.Types.EventType.Exit && evt.Pid == _initPid)
                        {
                            Volatile.Write(ref _initExit, evt);
                            _initExitSeen.TrySetResult();
                        }
                    }
                    Volatile.Write(ref _lastSeen, item.Sequence);
                    Persist(item.Sequence);
                    _unacked.Release();
                }
                if (_shimEnding)
                    return;
                if (_shim.Process.HasExited)
                {
                    ReportShimLost();
                    return;
                }
            }
            catch (Exception e) when (cancellationToken.IsCancellationRequested && e is OperationCanceledException or RpcException)
            {
                // Disposed (task deleted, shim lost, daemon stopping); Grpc.Net.Client reports
                // our own cancellation as RpcException(Cancelled).
                return;
            }
            catch (RpcException e)
            {
                if (_shimEnding)
                    return;
                if (_shim.Process.HasExited)
                {
                    ReportShimLost();
                    return;
                }
                _logger.LogDebug("event stream of {Namespace} {ContainerId} broke ({Status}); reconnecting",
                    _shim.Namespace, _shim.Id, e.Status);
            }

            try
            {
                await Task.Delay(backoff, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
        }
    }

    /// <summary>
    /// Acknowledges at most every ack interval, and only after something was
    /// published: an idle task's pump does not wake up at all.
    /// </summary>
    private async Task AckLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await _unacked.WaitAsync(cancellationToken).ConfigureAwait(false);
                await Task.Delay(_ackInterval, cancellationToken).ConfigureAwait(false);
                // Everything published up to now goes in this one ack.
                while (_unacked.CurrentCount > 0)
                    await _unacked.WaitAsync(cancellationToken).ConfigureAwait(false);
                if (!await FlushAsync(cancellationToken).ConfigureAwait(false))
                    _unacked.Release(); // try again after another interval, as the timer did
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// Records a published sequence on disk at once: the window in which a
    /// killed daemon has published an event but not recorded it (and so will
    /// publish it again) is a file write, not an ack interval.
    /// </summary>
    private void Persist(ulong sequence)
    {
        lock (_persistGate)
        {
            if (sequence > _lastPersisted && WriteSequenceFile(sequence))
                _lastPersisted = sequence;
        }
    }

    private void ReportShimLost()
    {
        if (_shimLost is null)
            return;
        _logger.LogWarning("shim of {Namespace} {ContainerId} {Pid} has exited", _shim.Namespace, _shim.Id, _shim.Process.Pid);
        // Not awaited: the handler disposes this pump, which waits for this very loop to end.
        _ = Task.Run(_shimLost);
    }

    /// <returns>False when the shim refused or missed the ack (it keeps the events; retry later).</returns>
    private async Task<bool> FlushAsync(CancellationToken cancellationToken)
    {
        Persist(Volatile.Read(ref _lastSeen));
        ulong persisted;
        lock (_persistGate)
            persisted = _lastPersisted;
        if (persisted <= _lastAcked || _shim.Process.HasExited)
            return true;
        try
        {
            await _shim.Client.AckEventsAsync(
                new ShimApi.ShimAckRequest { Sequence = persisted },
                deadline: DateTime.UtcNow.AddSeconds(2),
                cancellationToken: cancellationToken).ConfigureAwait(false);
            _lastAcked = persisted;
            return true;
        }
        catch (Exception e) when (e is ObjectDisposedException || (e is RpcException && cancellationToken.IsCancellationRequested))
        {
            // Stopping, or the channel was closed with the shim: the shim keeps what was not acknowledged.
            return true;
        }
        catch (RpcException e)
        {
            // Not fatal: the shim keeps the events and the next tick retries.
            _logger.LogDebug("ack of {Namespace} {ContainerId} up to {Sequence} failed: {Status}",
                _shim.Namespace, _shim.Id, persisted, e.Status);
            return false;
        }
    }

    private bool WriteSequenceFile(ulong sequence)
    {
        try
        {
            _shim.Bundle.WriteEventSequence(sequence);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The bundle is gone (task deleted) or unwritable; nothing left to resume.
            return false;
        }
    }

    /// <summary>Stops pumping and makes a last attempt to persist and acknowledge. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposing, 1) == 1)
        {
            await _disposed.Task.ConfigureAwait(false);
            return;
        }
        try
        {
            await DisposeCoreAsync().ConfigureAwait(false);
        }
        finally
        {
            _disposed.TrySetResult();
        }
    }

    private async Task DisposeCoreAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_pumpTask, _ackTask).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // Stopping must go on (daemon shutdown detaches every task); say what broke.
            _logger.LogError("event pump of {Namespace} {ContainerId} failed: {Error}", _shim.Namespace, _shim.Id, e.Message);
        }
        using var last = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        try
        {
            await FlushAsync(last.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        _stop.Dispose();
    }
}
