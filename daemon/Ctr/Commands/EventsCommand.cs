using System.CommandLine;
using System.Globalization;
using System.Text;
using Containerd.Api.Execution;
using Containerd.Api.Types;
using Containerd.Ctr.Cli;
using Task = System.Threading.Tasks.Task;
using Grpc.Core;

namespace Containerd.Ctr.Commands;

/// <summary><c>ctr events</c>: prints the namespace's task events as they happen, until interrupted.</summary>
public static class EventsCommand
{
    public static Command Create(GlobalOptions globals)
    {
        var command = new Command("events", "print task events of the namespace as they happen (Ctrl-C stops)");
        CommandAction.Set(command, globals, async (_, client, cancellationToken) =>
        {
            // Ctrl-C is the normal way to stop; it ends the stream and ctr exits 0.
            using var signals = new SignalForwarder(cancellationToken);
            using var call = client.Tasks.Events(new EventsRequest(), cancellationToken: signals.Aborted);
            try
            {
                while (await call.ResponseStream.MoveNext(signals.Aborted))
                {
                    Console.WriteLine(Format(call.ResponseStream.Current));
                    Console.Out.Flush();
                }
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && signals.Aborted.IsCancellationRequested)
            {
            }
            catch (OperationCanceledException) when (signals.Aborted.IsCancellationRequested)
            {
            }
            return 0;
        });
        return command;
    }

    private static string Format(Event e)
    {
        var line = new StringBuilder()
            .Append(DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture))
            .Append(' ').Append(e.Type.ToString().ToUpperInvariant())
            .Append(" id=").Append(e.Id)
            .Append(" pid=").Append(e.Pid.ToString(CultureInfo.InvariantCulture));
        if (e.Type == Event.Types.EventType.Exit)
        {
            line.Append(" exit_status=").Append(e.ExitStatus.ToString(CultureInfo.InvariantCulture));
            if (e.ExitedAt is not null)
                line.Append(" exited_at=").Append(e.ExitedAt.ToDateTime().ToString("o", CultureInfo.InvariantCulture));
        }
        return line.ToString();
    }
}
