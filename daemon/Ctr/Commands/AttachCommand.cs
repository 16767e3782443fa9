using System.CommandLine;
using Containerd.Api.Execution;
using Containerd.Ctr.Cli;
using Containerd.Ctr.Client;
using Containerd.Ctr.Io;
using Grpc.Core;
using Status = Containerd.Api.Types.Status;

namespace Containerd.Ctr.Commands;

/// <summary>
/// <c>ctr tasks attach</c>: connects ctr's stdio to the FIFOs of a task's init
/// process (those Tasks.Info reports) until the task exits, then exits with its
/// status, as <c>run</c> does; or until the user types Ctrl-P Ctrl-Q, which
/// detaches (exit 0) and leaves the task running.
/// </summary>
public static class AttachCommand
{
    /// <summary>What ctr exits with when it cannot tell how the process ended.</summary>
    private const int LostExitStatus = 255;

    /// <summary>After the exit, output still trickling in is copied until it has been quiet this long.</summary>
    private static readonly TimeSpan OutputQuiet = TimeSpan.FromMilliseconds(200);

    private static readonly TimeSpan OutputLimit = TimeSpan.FromSeconds(2);

    public static Command Create(GlobalOptions globals)
    {
        var id = CommonOptions.Id("id of the task to attach to");
        var command = new Command(
            "attach",
            "attach to a running task's stdio until it exits (ctr then exits with its status); Ctrl-P Ctrl-Q detaches "
            + "and leaves it running. A terminal task gets ctr's terminal in raw mode and its window size. "
            + "Two attaches at once share the output: each piece goes to one of them")
        {
            id,
        };
        CommandAction.Set(command, globals, (parseResult, client, cancellationToken) =>
            AttachAsync(client, parseResult.GetRequiredValue(id), cancellationToken));
        return command;
    }

    private static async Task<int> AttachAsync(DaemonClient client, string id, CancellationToken cancellationToken)
    {
        using var signals = new SignalForwarder(cancellationToken);
        var aborted = signals.Aborted;
        try
        {
            // Subscribed before looking at the task, so an exit right after is still seen.
            await using var events = await EventSubscription.OpenAsync(client, aborted);
            var task = (await client.Tasks.InfoAsync(new InfoRequest { ContainerId = id }, cancellationToken: aborted)).Task;
            if (task.Stdin.Length == 0 && task.Stdout.Length == 0 && task.Stderr.Length == 0)
                throw new CtrException($"task {id} has no stdio to attach to");
            if (task.Status == Status.Stopped)
                throw new CtrException($"task {id} is not running");

            var (detached, exit) = await StreamAsync(client, task, events, signals, cancellationToken);
            if (detached)
            {
                // On a line of its own: the terminal's cursor is wherever the process left it.
                await Console.Error.WriteLineAsync(task.Terminal ? $"\ndetached from task {id}" : $"detached from task {id}");
                return 0;
            }
            if (exit?.Status is not { } status)
            {
                await Console.Error.WriteLineAsync($"ctr: the exit status of task {id} was lost");
                return LostExitStatus;
            }
            return (int)status;
        }
        catch (Exception e) when (aborted.IsCancellationRequested && e is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled })
        {
            throw CtrException.Interrupted();
        }
    }

    /// <summary>Streams until the task exits or the user detaches; returns with ctr's terminal restored.</summary>
    private static async Task<(bool Detached, ProcessExit? Exit)> StreamAsync(
        DaemonClient client, Api.Types.Task task, EventSubscription events, SignalForwarder signals, CancellationToken cancellationToken)
    {
        var id = task.ContainerId;
        using var stdio = StdioSession.Attach(task.Stdin, task.Stdout, task.Stderr, task.Terminal);
        if (task.Stdin.Length > 0 && !stdio.HasInput)
            await Console.Error.WriteLineAsync($"ctr: the stdin of task {id} is closed; attaching without input");
        using var resizer = task.Terminal ? await PtyResizer.StartOrWarnAsync(client, id, 0, signals.Aborted) : null;
        // Without input there are no keys to pass on and no detach keys to see: the
        // terminal stays as it is, so that Ctrl-C still works (as a signal for the task).
        using var terminal = !stdio.HasInput ? null
            : task.Terminal ? RawTerminal.EnterIfTerminal()
            : RawTerminal.DisableFlowControlIfTerminal();
        stdio.StartInput(new DetachKeyScanner());
        // Like run: a signal to ctr (not a key, in raw mode) goes to the task.
        signals.ForwardTo(signal => client.Tasks.KillAsync(new KillRequest { ContainerId = id, Signal = signal }).ResponseAsync);

        using var stopWaiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var exited = events.WaitForExitAsync(id, task.Pid, ExitProbes.ForProcess(client, id, task.Pid), stopWaiting.Token);
        if (await Task.WhenAny(exited, stdio.Detached) != exited)
        {
            await stopWaiting.CancelAsync();
            try
            {
                await exited;
            }
            catch (Exception e) when (e is OperationCanceledException or RpcException)
            {
                // Only the wait was stopped.
            }
            return (true, null);
        }
        var exit = await exited;
        await stdio.WaitForOutputAsync(OutputQuiet, OutputLimit, cancellationToken);
        return (false, exit);
    }
}
