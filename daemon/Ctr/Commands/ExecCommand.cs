using System.CommandLine;
using Containerd.Api.Execution;
using Containerd.Ctr.Cli;
using Containerd.Ctr.Client;
using Containerd.Ctr.Io;
using Containerd.Shared.Oci;
using Grpc.Core;

namespace Containerd.Ctr.Commands;

/// <summary><c>ctr tasks exec</c>: runs an additional process in a running task, attached, and exits with its status.</summary>
public static class ExecCommand
{
    /// <summary>What ctr exits with when it cannot tell how the process ended.</summary>
    private const int LostExitStatus = 255;

    public static Command Create(GlobalOptions globals)
    {
        var cwd = CommonOptions.Cwd("working directory of the process inside the container");
        var env = CommonOptions.Env();
        var id = CommonOptions.Id();
        var commandLine = CommonOptions.CommandLine();
        var tty = CommonOptions.Tty();
        var command = new Command("exec", "run a process in a running task") { tty, cwd, env, id, commandLine };
        CommandAction.Set(command, globals, (parseResult, client, cancellationToken) => ExecAsync(
            client,
            parseResult.GetRequiredValue(id),
            parseResult.GetRequiredValue(commandLine),
            parseResult.GetValue(env) ?? [],
            parseResult.GetValue(cwd) ?? "/",
            parseResult.GetValue(tty),
            cancellationToken));
        return command;
    }

    private static async Task<int> ExecAsync(
        DaemonClient client, string id, string[] args, string[] env, string cwd, bool tty, CancellationToken cancellationToken)
    {
        CommonOptions.CheckEnvironment(env);
        var process = ProcessSpec.Create(args, env, cwd);
        process["terminal"] = tty;
        var spec = SpecAny.Pack(SpecAny.ProcessSpecType, process);

        using var signals = new SignalForwarder(cancellationToken);
        await using var events = await EventSubscription.OpenAsync(client, signals.Aborted);
        // A terminal always takes ctr's stdin (raw from a terminal, else until EOF, which becomes the pty's EOF).
        using var stdio = StdioSession.Open(id, tty || StdinSource.ShouldForward(), tty);
        if (!tty)
            stdio.StartInput();
        uint pid;
        try
        {
            var started = await client.Tasks.ExecAsync(new ExecRequest
            {
                ContainerId = id,
                Spec = spec,
                Stdin = stdio.Stdin,
                Stdout = stdio.Stdout,
                Stderr = stdio.Stderr,
                Terminal = tty,
            }, cancellationToken: signals.Aborted);
            pid = started.Pid;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && signals.Aborted.IsCancellationRequested)
        {
            throw CtrException.Interrupted();
        }
        catch (RpcException e) when (CommandAction.IsConnectionFailure(e))
        {
            // The subscription above proved the daemon was there: it went away under the Exec call,
            // which may have reached the shim before it did.
            throw new CtrException(
                $"containerd went away during the exec call in {id}: the process may have been started and may have run", LostExitStatus);
        }
        signals.ForwardTo(signal => client.Tasks.KillAsync(new KillRequest { ContainerId = id, Signal = signal, Pid = pid }).ResponseAsync);

        // The exec runs already (Exec starts it): the first resize races its
        // first look at the terminal, as in the original ctr.
        using var resizer = tty ? await PtyResizer.StartOrWarnAsync(client, id, pid, cancellationToken) : null;
        using var raw = tty ? RawTerminal.EnterIfTerminal() : null;
        stdio.StartInput();

        uint? status;
        try
        {
            var exit = await AttachedProcess.WaitAsync(client, id, pid, pid, stdio, events, cancellationToken);
            status = exit.Status;
            try
            {
                var deleted = await client.Tasks.DeleteProcessAsync(new DeleteProcessRequest { ContainerId = id, Pid = pid }, cancellationToken: cancellationToken);
                status ??= deleted.ExitStatus;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.NotFound && status is not null)
            {
                // Already gone (e.g. the whole task was deleted meanwhile); the exit event said enough.
            }
        }
        catch (RpcException e) when (CommandAction.IsConnectionFailure(e))
        {
            // Not "cannot connect": the process started, and runs in its shim whether the daemon is there or not.
            throw new CtrException(
                $"containerd went away while waiting for process {pid} in {id}: the process may have run to its end, but its exit status is unknown",
                LostExitStatus);
        }
        raw?.Dispose();
        if (status is null)
        {
            await Console.Error.WriteLineAsync($"ctr: the exit status of process {pid} in {id} was lost");
            return LostExitStatus;
        }
        return (int)status.Value;
    }
}
