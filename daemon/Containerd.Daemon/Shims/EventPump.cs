using System.Globalization;
using Containerd.Daemon.Events;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using ShimApi = Containerd.Api.Shim;

namespace Containerd.Daemon.Shims;

/// <summary>
/// Moves one shim's events into the exchange. The shim keeps every event until
/// it is acknowledged, so the pump asks for everything after the last sequence
/// it saw, reconnects with backoff while the shim lives, and acknowledges in
/// coalesced batches. The acknowledged sequence is also written to
/// BUNDLE/events.seq before the ack, so a restarted daemon resumes after it and
/// neither loses nor republishes events it had already published.
/// </summary>
public sealed class EventPump : IAsyncDisposable
{
    private static readonly TimeSpan AckInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);

    private readonly ShimConnection _shim;
    private readonly EventExchange _exchange;
    private readonly ILogger _logger;
    private readonly string _sequenceFile;
    private readonly CancellationTokenSource _stop = new();
    private ulong _lastSeen;
    private ulong _lastPersisted;
    private ulong _lastAcked;
    private volatile bool _shimEnding;
    private Task _pumpTask = Task.CompletedTask;
    private Task _ackTask = Task.CompletedTask;

    public EventPump(ShimConnection shim, EventExchange exchange, ILogger logger)
    {
        _shim = shim;
        _exchange = exchange;
        _logger = logger;
        _sequenceFile = Path.Combine(shim.Bundle, StateLayout.EventSequenceFile);
        _lastSeen = _lastPersisted = _lastAcked = ReadSequenceFile(_sequenceFile);
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

    /// <summary>Marks the end of the shim's stream as expected (it is about to shut down).</summary>
    public void ExpectEnd() => _shimEnding = true;

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
                    if (item.Event is not null)
                        _exchange.Publish(_shim.Namespace, item.Event);
                    Volatile.Write(ref _lastSeen, item.Sequence);
                }
                if (_shimEnding || _shim.Process.HasExited)
                    return;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
            {
                if (_shimEnding || _shim.Process.HasExited)
                    return;
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

    private async Task AckLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(AckInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
                await FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        var seen = Volatile.Read(ref _lastSeen);
        if (seen > _lastPersisted && WriteSequenceFile(seen))
            _lastPersisted = seen;
        if (_lastPersisted <= _lastAcked || _shim.Process.HasExited)
            return;
        try
        {
            await _shim.Client.AckEventsAsync(
                new ShimApi.ShimAckRequest { Sequence = _lastPersisted },
                deadline: DateTime.UtcNow.AddSeconds(2),
                cancellationToken: cancellationToken).ConfigureAwait(false);
            _lastAcked = _lastPersisted;
        }
        catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
        {
            // Not fatal: the shim keeps the events and the next tick retries.
            _logger.LogDebug("ack of {Namespace} {ContainerId} up to {Sequence} failed: {Status}",
                _shim.Namespace, _shim.Id, _lastPersisted, e.Status);
        }
    }

    private bool WriteSequenceFile(ulong sequence)
    {
        try
        {
            var temporary = _sequenceFile + ".tmp";
            File.WriteAllText(temporary, sequence.ToString(CultureInfo.InvariantCulture));
            File.Move(temporary, _sequenceFile, overwrite: true);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The bundle is gone (task deleted) or unwritable; nothing left to resume.
            return false;
        }
    }

    private static ulong ReadSequenceFile(string path)
    {
        try
        {
            return ulong.TryParse(File.ReadAllText(path).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value)
                ? value
                : 0;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    /// <summary>Stops pumping and makes a last attempt to persist and acknowledge.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_pumpTask, _ackTask).ConfigureAwait(false);
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
