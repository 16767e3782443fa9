using System.Runtime.InteropServices;
using Containerd.Api.Execution;
using Containerd.Ctr.Cli;
using Containerd.Ctr.Client;
using Grpc.Core;

namespace Containerd.Ctr.Io;

/// <summary>
/// Keeps a container process's pty the size of ctr's terminal: one Pty call
/// at once, then one per SIGWINCH. Resizes are sent one at a time from a
/// loop, so a burst of signals (a window being dragged) collapses into the
/// latest size instead of racing calls that could land out of order.
/// </summary>
internal sealed class PtyResizer : IDisposable
{
    private readonly DaemonClient _client;
    private readonly string _id;
    private readonly uint _pid;
    private readonly SemaphoreSlim _changed = new(0, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly PosixSignalRegistration _registration;
    private readonly Task _loop;
    private WindowSize? _sent;

    private PtyResizer(DaemonClient client, string id, uint pid, WindowSize sent)
    {
        _client = client;
        _id = id;
        _pid = pid;
        _sent = sent;
        _registration = PosixSignalRegistration.Create(PosixSignal.SIGWINCH, context =>
        {
            context.Cancel = true;
            Notify();
        });
        _loop = LoopAsync();
    }

    /// <summary>
    /// Sends the current size (awaited, so a process sees it before it starts
    /// when called between Create and Start) and follows later changes;
    /// null when ctr has no terminal to take a size from.
    /// </summary>
    /// <param name="pid">The process whose pty to resize: 0 for a task's init process.</param>
    public static async Task<PtyResizer?> StartAsync(DaemonClient client, string id, uint pid, CancellationToken cancellationToken)
    {
        var size = WindowSize.Current();
        if (size is null)
            return null;
        await SendAsync(client, id, pid, size.Value, cancellationToken);
        return new PtyResizer(client, id, pid, size.Value);
    }

    /// <summary>
    /// As <see cref="StartAsync"/>, for a process that runs already (exec,
    /// attach): a failed resize only costs the size, so it is reported and ctr stays attached.
    /// </summary>
    public static async Task<PtyResizer?> StartOrWarnAsync(DaemonClient client, string id, uint pid, CancellationToken cancellationToken)
    {
        try
        {
            return await StartAsync(client, id, pid, cancellationToken);
        }
        catch (RpcException e) when (!CommandAction.IsConnectionFailure(e) && e.StatusCode != StatusCode.Cancelled)
        {
            var process = pid == 0 ? $"task {id}" : $"process {pid} in {id}";
            await Console.Error.WriteLineAsync($"ctr: setting the terminal size of {process}: {CommandAction.Describe(e, client.Address)}");
            return null;
        }
    }

    public void Dispose()
    {
        _registration.Dispose();
        _stop.Cancel();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(1));
        }
        catch (AggregateException)
        {
        }
        _stop.Dispose();
        _changed.Dispose();
    }

    private void Notify()
    {
        try
        {
            if (_changed.CurrentCount == 0)
                _changed.Release();
        }
        catch (SemaphoreFullException)
        {
            // A resize is already pending; it will read the newest size.
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private async Task LoopAsync()
    {
        try
        {
            while (true)
            {
                await _changed.WaitAsync(_stop.Token);
                var size = WindowSize.Current();
                if (size is null || size == _sent)
                    continue;
                try
                {
                    await SendAsync(_client, _id, _pid, size.Value, _stop.Token);
                    _sent = size;
                }
                catch (RpcException)
                {
                    // The process may be exiting; a lost resize is harmless and the exit is what ctr waits for.
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static async Task SendAsync(DaemonClient client, string id, uint pid, WindowSize size, CancellationToken cancellationToken) =>
        await client.Tasks.PtyAsync(
            new PtyRequest { ContainerId = id, Pid = pid, Width = size.Width, Height = size.Height },
            cancellationToken: cancellationToken);
}
